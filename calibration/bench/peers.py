"""The simple baselines camdrift is compared with in ``camdrift bench --detection``: written plainly, as commonly
used, not tuned. They are the folklore, not camdrift.

- :class:`FolklorePsi`: PSI of the luma histogram of a sliding window of N frames against the reference luma
  histogram, over 10 bins, with the fixed rule "> 0.1 warning, > 0.25 drift".
- :class:`PageHinkley`: the Page-Hinkley test on a per-frame scalar (mean brightness in the bench), the same
  recurrence and defaults as river's ``river.drift.PageHinkley`` (two-sided, ``mode="both"``).

Both follow river's detector API: ``update(x) -> self``, read-only ``drift_detected``, and a detector that raised
an alarm restarts from scratch on its next update (so alarms on a long stream are counted as river counts them).
"""

from __future__ import annotations

from collections import deque

import numpy as np

from camdrift.kernels import psi, quantile_edges, rebin, rebin_lut

__all__ = ["FolklorePsi", "PageHinkley", "psi_bins"]


def psi_bins(ref_hist: np.ndarray, n_bins: int = 10, binning: str = "quantile") -> np.ndarray:
    """(256,) int64 lookup table DN8 level -> PSI bin: reference deciles (``"quantile"``, the usual choice in
    credit-scoring PSI) or ``n_bins`` equal-width bins over 0..255 (``"uniform"``).

    ref_hist: (256,) reference luma counts.
    """
    if binning == "quantile":
        edges = quantile_edges(np.asarray(ref_hist), n_bins)
    elif binning == "uniform":
        edges = np.round(np.linspace(0, 256, n_bins + 1)).astype(np.int64)
    else:
        raise ValueError(f"binning must be 'quantile' or 'uniform', got {binning!r}")
    return rebin_lut(edges, 256)


class FolklorePsi:
    """PSI (nats, Jeffreys-smoothed proportions) between the summed luma histogram of the last ``window`` frames
    and the reference luma histogram, with the fixed folklore thresholds.

    ref_hist: (256,) reference luma counts (e.g. summed over the reference recording); window: frames per
    window (camdrift's own window length in the bench); n_bins / binning: see :func:`psi_bins`; warn / alarm:
    the fixed rule (0.1 / 0.25). ``update(luma_hist)`` takes one frame's (256,) luma counts.
    :attr:`value` is the latest PSI (NaN until the window is full); :attr:`warning_detected` is PSI > warn,
    :attr:`drift_detected` PSI > alarm. After an alarm the window is emptied on the next update.

    A seeded shift (mean luma 100 -> 115 DN8 at frame 30) and where it is caught:

    >>> rng = np.random.default_rng(0)
    >>> frame = lambda mu: np.bincount(np.clip(rng.normal(mu, 20, 5000), 0, 255).astype(int), minlength=256)
    >>> det = FolklorePsi(sum(frame(100) for _ in range(50)), window=5)
    >>> [i for i in range(40) if det.update(frame(100 if i < 30 else 115)).drift_detected]
    [33, 38]
    """

    def __init__(
        self,
        ref_hist: np.ndarray,
        window: int = 20,
        n_bins: int = 10,
        binning: str = "quantile",
        warn: float = 0.1,
        alarm: float = 0.25,
    ) -> None:
        if window < 1:
            raise ValueError(f"window must be >= 1 frame, got {window}")
        if not 0 < warn <= alarm:
            raise ValueError(f"need 0 < warn <= alarm, got warn={warn}, alarm={alarm}")
        self.ref_hist = ref_hist
        self.window = window
        self.n_bins = n_bins
        self.binning = binning
        self.warn = warn
        self.alarm = alarm
        self._lut = psi_bins(ref_hist, n_bins, binning)
        self._b = int(self._lut[-1]) + 1
        self._ref = rebin(np.asarray(ref_hist), self._lut, self._b)
        self._reset()

    def _reset(self) -> None:
        self._frames: deque[np.ndarray] = deque()
        self._sum = np.zeros(self._b, np.int64)
        self._value = float("nan")
        self._drift = False

    def update(self, luma_hist: np.ndarray) -> FolklorePsi:
        if self._drift:
            self._reset()
        counts = rebin(np.asarray(luma_hist), self._lut, self._b)
        self._frames.append(counts)
        self._sum += counts
        if len(self._frames) > self.window:
            self._sum -= self._frames.popleft()
        if len(self._frames) == self.window:
            self._value = psi(self._ref, self._sum)
            self._drift = self._value > self.alarm
        return self

    @property
    def value(self) -> float:
        return self._value

    @property
    def warning_detected(self) -> bool:
        return self._value > self.warn

    @property
    def drift_detected(self) -> bool:
        return self._drift


class PageHinkley:
    """Two-sided Page-Hinkley test with a forgetting factor: the recurrence of river's ``drift.PageHinkley``
    (river >= 0.15, ``mode="both"``) and its defaults, re-implemented here so the bench needs no river.

    Per update: the running mean m_n of all values since the last reset; ``S+ = alpha S+ + (x - m_n) - delta``,
    ``S- = alpha S- + (x - m_n) + delta``; drift when, after ``min_instances`` values, ``S+ - min(S+)`` or
    ``max(S-) - S-`` exceeds ``threshold`` (in the units of x). As in river, the running max of S- starts at -1
    and the running min of S+ at +inf. After a drift the detector restarts on the next update.

    A seeded step (mean 0 -> 3 at value 500 of unit-variance noise) and where it is caught:

    >>> rng = np.random.default_rng(1)
    >>> ph = PageHinkley()
    >>> [i for i, x in enumerate(rng.normal(0, 1, 1000) + 3 * (np.arange(1000) >= 500))
    ...  if ph.update(x).drift_detected]
    [506]
    """

    def __init__(
        self,
        min_instances: int = 30,
        delta: float = 0.005,
        threshold: float = 50.0,
        alpha: float = 1 - 0.0001,
        mode: str = "both",
    ) -> None:
        if mode not in ("up", "down", "both"):
            raise ValueError(f"mode must be 'up', 'down' or 'both', got {mode!r}")
        if min_instances < 1 or threshold <= 0 or not 0 < alpha <= 1:
            raise ValueError(
                f"need min_instances >= 1, threshold > 0 and 0 < alpha <= 1, got {min_instances}, {threshold}, {alpha}"
            )
        self.min_instances = min_instances
        self.delta = delta
        self.threshold = threshold
        self.alpha = alpha
        self.mode = mode
        self._reset()

    def _reset(self) -> None:
        self._n = 0
        self._mean = 0.0
        self._sum_inc = 0.0
        self._sum_dec = 0.0
        self._min_inc = float("inf")
        self._max_dec = -1.0
        self._drift = False

    def update(self, x: float) -> PageHinkley:
        if self._drift:
            self._reset()
        self._n += 1
        self._mean += (x - self._mean) / self._n
        dev = x - self._mean
        self._sum_inc = self.alpha * self._sum_inc + dev - self.delta
        self._sum_dec = self.alpha * self._sum_dec + dev + self.delta
        self._min_inc = min(self._min_inc, self._sum_inc)
        self._max_dec = max(self._max_dec, self._sum_dec)
        if self._n >= self.min_instances:
            up = self._sum_inc - self._min_inc > self.threshold
            down = self._max_dec - self._sum_dec > self.threshold
            self._drift = {"up": up, "down": down, "both": up or down}[self.mode]
        return self

    @property
    def value(self) -> float:
        """The larger of the two test statistics (units of x)."""
        return max(self._sum_inc - self._min_inc, self._max_dec - self._sum_dec)

    @property
    def drift_detected(self) -> bool:
        return self._drift
