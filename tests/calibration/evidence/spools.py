"""Real evidence spools for the evidence-export tests, written through the agent's own spool API with real
photographs (scikit-image's sample images, BGR as the agent gets them)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from skimage import data

from camdrift.agent.output.evidence import EvidenceRecord, EvidenceSpool
from camdrift.agent.output.evidence_files import CaptureContext, WindowPicture
from camdrift.agent.predictions.flags import flag_note
from camdrift.agent.predictions.outputs import ModelOutputs, classification, detection

T0 = 1_700_000_000.0  # created_at of the first capture, Unix s
CLASSES = ("ok", "scratch", "dent")


def photos() -> list[np.ndarray]:
    """Three real photographs of different sizes, BGR uint8: astronaut 512x512, chelsea 451x300, coffee 600x400."""
    return [
        np.ascontiguousarray(img[:, :, ::-1]) for img in (data.astronaut(), data.chelsea(), data.coffee())
    ]


def probs(label: int, confidence: float = 0.8) -> ModelOutputs:
    """A 3-class classifier's outputs predicting ``label`` with ``confidence``."""
    p = np.full(3, (1.0 - confidence) / 2)
    p[label] = confidence
    return classification(p)


def episode(
    spool: EvidenceSpool,
    frames: list[np.ndarray],
    episode_id: str,
    cause: str,
    t: float,
    outputs: list[ModelOutputs | None] | None = None,
    class_names: tuple[str, ...] = CLASSES,
) -> EvidenceRecord:
    """An episode capture of ``frames`` at ``T0 + t`` seconds, with ``outputs`` per frame."""
    record = spool.capture_episode(
        camera_id="cam1",
        episode_id=episode_id,
        frame_index=int(t * 10),
        stream_time=t,
        created_at=T0 + t,
        frames=frames,
        window=WindowPicture({"luma_window": np.arange(8)}, np.full((8, 8), 90.0), np.full((8, 8), 70.0)),
        decision={"psi": 0.4, "causes": (cause,)},
        outputs=outputs or [],
        context=CaptureContext("base-7", episode_id, cause, ("luma",), class_names),
    )
    assert record is not None
    return record


def flag(
    spool: EvidenceSpool,
    frame: np.ndarray,
    reason: str,
    t: float,
    outputs: ModelOutputs | None,
    prediction: str = "",
    corrected: str = "",
    episode_id: str = "",
    class_names: tuple[str, ...] = CLASSES,
) -> EvidenceRecord:
    """A flagged frame at ``T0 + t`` seconds (inside ``episode_id`` when given)."""
    record = spool.capture_flag(
        camera_id="cam1",
        frame_index=int(t * 10),
        stream_time=t,
        created_at=T0 + t,
        frame=frame,
        note=flag_note(
            reason, frame_id=str(int(t)), prediction=prediction or None, corrected=corrected or None
        ),
        outputs=outputs,
        context=CaptureContext("base-7", episode_id, "lighting" if episode_id else "", (), class_names),
    )
    assert record is not None
    return record


def classifier_spool(root: Path) -> Path:
    """Two lighting captures (one episode), one defocus capture, and five flags of four reasons."""
    a, b, c = photos()
    spool = EvidenceSpool(root, min_interval_s=0)
    episode(spool, [a, b], "ep-light", "lighting", 0.0, [probs(0), probs(1)])
    episode(spool, [c, a], "ep-light", "lighting", 600.0, [probs(0), None])
    episode(spool, [b, c, a], "ep-focus", "defocus", 3600.0, [probs(2), probs(2), probs(0)])
    flag(spool, a, "false_positive", 7200.0, probs(1), prediction="scratch")
    flag(spool, b, "false_positive", 7300.0, probs(1, 0.6), prediction="scratch", episode_id="ep-light")
    flag(spool, c, "operator_corrected", 7400.0, probs(1), prediction="scratch", corrected="dent")
    flag(spool, a, "uncertain", 7500.0, probs(0, 0.4))
    flag(spool, b, "looks odd", 7600.0, None, prediction="ok")
    return root


def detector_spool(root: Path) -> Path:
    """A detector's evidence: an episode capture with boxes (one frame without any), a flag with unnamed
    classes (class_<i>)."""
    a, b, c = photos()
    spool = EvidenceSpool(root, min_interval_s=0)
    boxes = detection([[10, 20, 100, 50], [200, 100, 40, 80.5]], [0, 1], [0.9, 0.35])
    none = detection(np.zeros((0, 4)), [], [])
    episode(spool, [a, b], "ep-glare", "glare", 0.0, [boxes, none], class_names=("scratch", "dent"))
    flag(spool, c, "false_negative", 100.0, detection([[5, 5, 30, 30]], [2], [0.5]), class_names=())
    return root


def unknown_label_spool(root: Path) -> Path:
    """Operators' corrections to labels the model does not know: ``crack`` on a classifier's flag, ``chip`` on
    a detector's."""
    a, b, _ = photos()
    spool = EvidenceSpool(root, min_interval_s=0)
    flag(spool, a, "operator_corrected", 10.0, probs(1), prediction="scratch", corrected="crack")
    boxes = detection([[5, 5, 30, 30]], [0], [0.7])
    flag(spool, b, "operator_corrected", 20.0, boxes, corrected="chip", class_names=("scratch", "dent"))
    return root
