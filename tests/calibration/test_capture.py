"""capture(): sampling like the agent, size / format changes skipped and counted, stalls and failures named."""

from __future__ import annotations

import dataclasses
import io

import cv2
import numpy as np
import pytest

from camdrift.agent.frames import Frame, SourceCounters, SourceEnded, SourceError
from camdrift.calibration.capture import CaptureError, Progress, capture
from camdrift.kernels import KernelParams
from tests.calibration.cli_fixtures import frames

KERNEL = KernelParams(thumb_size=(16, 16), grid=4)


class ListSource:
    """A finite source over given frames; ``None`` items are reads that time out, exceptions are raised."""

    def __init__(self, items: list, fps: float = 5.0) -> None:
        self.items, self.fps = items, fps
        self.counters = SourceCounters()
        self.opened = self.closed = 0

    def open(self) -> None:
        self.opened += 1
        self._i = 0

    def read(self, timeout: float) -> Frame | None:
        if self._i >= len(self.items):
            raise SourceEnded("end")
        item = self.items[self._i]
        self._i += 1
        if isinstance(item, Exception):
            raise item
        if item is None:
            return None
        image, fmt, *extra = item
        flag = extra[0] if extra else None
        outputs = extra[1] if len(extra) > 1 else None
        return Frame(image, self._i - 1, (self._i - 1) / self.fps, fmt, flag, outputs=outputs)

    def close(self) -> None:
        self.closed += 1

    def set_request_interval(self, seconds: float) -> None:
        self.request_interval = seconds

    def describe(self) -> str:
        return "list:test"


def test_size_and_format_changes_are_skipped_and_counted() -> None:
    images = frames(0, 30)
    items = [(im, "bgr8") for im in images]
    items[5] = (cv2.resize(images[5], (320, 240)), "bgr8")
    items[6] = (images[6][:, :, ::-1].copy(), "rgb8")
    src = ListSource(items)
    cap = capture(src, KERNEL, frames=100)
    assert cap.ended and len(cap.stats) == 28
    assert dict(cap.skipped) == {"size_changed": 1, "format_changed": 1}
    assert cap.resolution == (160, 120) and cap.pixel_format == "bgr8"
    assert np.array_equal(cap.first, images[0]) and np.array_equal(cap.last, images[-1])
    assert src.opened == 1 and src.closed == 1


def test_frames_are_sampled_at_max_fps_of_stream_time() -> None:
    images = frames(0, 50)
    cap = capture(ListSource([(im, "bgr8") for im in images], fps=25.0), KERNEL, duration=1.0, max_fps=5.0)
    # 25 fps stream, 5 fps analysis: every fifth frame; 1 s of stream time is covered by 5 analysed frames
    assert np.allclose(cap.times, [0.0, 0.2, 0.4, 0.6, 0.8]) and cap.covered == pytest.approx(1.0)
    assert cap.read == 21 and cap.source_fps == pytest.approx(25.0) and not cap.ended


def test_stall_failure_and_unfit_first_frame_are_named() -> None:
    with pytest.raises(CaptureError, match="list:test: no frame for 1 s"):
        capture(ListSource([None] * 10), KERNEL, frames=5, stall_timeout=1.0)
    with pytest.raises(CaptureError, match="list:test failed: cable"):
        capture(ListSource([(frames(0, 1)[0], "bgr8"), SourceError("cable")]), KERNEL, frames=5)
    roi = dataclasses.replace(KERNEL, roi=(100, 100, 100, 100))
    with pytest.raises(CaptureError, match=r"160x120 bgr8.*roi"):
        capture(ListSource([(frames(0, 1)[0], "bgr8")]), roi, frames=5)


def test_progress_prints_lines_when_not_a_terminal() -> None:
    out = io.StringIO()
    p = Progress(20, "frames", stream=out)
    for i in range(1, 21):
        p.update(i)
    p.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 10 and lines[-1].startswith("100% 20/20 frames")


def test_flagged_frames_are_never_reference_and_the_tap_is_asked_at_the_analysis_rate() -> None:
    from camdrift.agent.predictions.flags import flag_note

    images = frames(0, 20)
    items = [(im, "bgr8") for im in images]
    items[3] = (images[3], "bgr8", flag_note("false_positive"))  # the app's known failure, out of order
    src = ListSource(items)
    cap = capture(src, KERNEL, frames=100, max_fps=5.0)
    assert len(cap.stats) == 19 and dict(cap.skipped) == {"flagged": 1}
    assert src.request_interval == pytest.approx(0.2)  # the tap copies only frames the capture takes


def test_outputs_that_do_not_fit_stop_the_capture_at_their_first_frame() -> None:
    from camdrift.agent.predictions.outputs import classification
    from camdrift.calibration.calibrate.output_options import OutputPlan

    three = classification([0.2, 0.7, 0.1])
    src = ListSource([(im, "bgr8", None, three) for im in frames(0, 50)])
    plan = OutputPlan(("ok", "ng"))
    with pytest.raises(CaptureError, match="list:test: --class-names names 2 classes, .* 3 probabilities"):
        capture(src, KERNEL, frames=40, max_fps=5.0, check_outputs=plan.check)
    assert src._i == 1 and src.closed == 1  # refused at the first frame, the source closed
    fits = capture(ListSource([(im, "bgr8", None, three) for im in frames(0, 5)]), KERNEL, frames=5,
                   check_outputs=OutputPlan(("ok", "scratch", "dent")).check)  # fmt: skip
    assert len(fits.outputs) == 5
