"""Where the pipeline's activation summaries come from: the app's own (handed over through the tap with the
frame) or the agent's model run, on every ``every_n``-th analysed frame.

The reference was sampled the same way at calibration (one summary per ``every_n`` frames), so the window of M
summaries spans the same stream time live as in the bootstrap that set its thresholds.
"""

from __future__ import annotations

import time

import numpy as np

from camdrift.agent.frames import Frame
from camdrift.agent.model.runner import ModelError, ModelRunner
from camdrift.agent.reference.activation_baseline import ActivationReference


class ActivationSampler:
    """Decides per analysed frame whether an activation summary is taken, and takes it.

    runner: the agent's model (None: only app-provided activations are used); every_n: one summary per that
    many analysed frames (>= 1). ``summary(frame)`` -> (C,) float64, or None when this frame is not sampled
    or nothing is available; a bad output raises :class:`ModelError` whose message starts with the reason
    (``nonfinite``, ``wrong_shape``, ``model_error``). :attr:`model_runs`, :attr:`app_provided` and
    :attr:`model_seconds` count what was done.
    """

    def __init__(self, runner: ModelRunner | None, every_n: int = 5) -> None:
        if every_n < 1:
            raise ValueError(f"every_n must be >= 1, got {every_n}")
        self.runner = runner
        self.every_n = int(every_n)
        self.seen = 0
        self.model_runs = 0
        self.app_provided = 0
        self.model_seconds = 0.0

    def check(self, ref: ActivationReference | None) -> None:
        """Refuse a runner whose model file is not the baseline's (:class:`ModelMismatchError` with both
        hashes), or a baseline without an activation group."""
        if ref is None:
            raise ModelError(
                "activations are enabled but the baseline has no activation group (calibrate --model)"
            )
        if self.runner is not None:
            ref.check_model(self.runner.sha256, str(self.runner.path))

    def summary(self, frame: Frame) -> np.ndarray | None:
        due = self.seen % self.every_n == 0
        self.seen += 1
        if not due:
            return None
        if frame.activations is not None:
            self.app_provided += 1
            a = np.asarray(frame.activations)
            if a.ndim != 1 or a.dtype.kind != "f":
                raise ModelError(f"wrong_shape: app activations must be a (C,) float vector, got {a.shape}")
            return a.astype(np.float64)
        if self.runner is None:
            return None
        self.model_runs += 1
        t0 = time.perf_counter()
        try:
            return self.runner.features(frame.image, frame.pixel_format)
        except ModelError as exc:
            reason = str(exc).split(":", 1)[0]
            if reason in ("nonfinite", "wrong_shape"):
                raise
            raise ModelError(f"model_error: {exc}") from exc
        finally:
            self.model_seconds += time.perf_counter() - t0


__all__ = ["ActivationSampler"]
