"""The slow-drift monitor: a creeping scalar is caught by its CUSUM over minute buckets, with a forecast and
the right cause; a bucket that saw a sudden change in drift is never fed; a CUSUM that only echoed a sudden
change recovers when it ends; thin buckets are skipped."""

from __future__ import annotations

import numpy as np

from camdrift.agent.drift.slow import SlowDriftMonitor
from camdrift.agent.drift.statistics import SCALAR_SD_FLOOR, mean_sd
from tests.agent.drift_fixtures import small_baseline

DT = 6.0  # s between frames: 10 frames per minute bucket


def _bucket_sd(i: int, n: int = 10) -> float:
    b = small_baseline()
    return max(mean_sd(b.scalar_std[i], b.scalar_acf[i], n), SCALAR_SD_FLOOR[i])


def _feed(
    m: SlowDriftMonitor, offsets, *, sudden=lambda i: False, start: int = 0
) -> list[tuple[int, str, str]]:
    """Frames at the reference means plus ``offsets[i]`` (S,) each; (frame, kind, group) transitions."""
    b = small_baseline()
    out = []
    for i, off in enumerate(offsets, start=start):
        for t in m.update(DT * i, b.scalar_mean + off, sudden(i)).transitions:
            out.append((i, t.kind, t.group))
    return out


def _ramp(n: int, sd_per_frame: float) -> np.ndarray:
    """A lamp creeping brighter: brightness up by ``sd_per_frame`` bucket-mean sds a frame and every luma
    quantile by the same factor (light scales all tones together), the other scalars at the reference."""
    b = small_baseline()
    off = np.zeros((n, len(b.scalar_names)))
    gain = np.arange(n) * sd_per_frame * _bucket_sd(0) / b.scalar_mean[0]
    for k, name in enumerate(b.scalar_names):
        if name == "brightness" or name.startswith("luma_p"):
            off[:, k] = gain * b.scalar_mean[k]
    return off


def test_a_creeping_scalar_is_caught_by_its_cusum_with_a_forecast() -> None:
    m = SlowDriftMonitor(small_baseline())
    events = _feed(m, _ramp(200, 0.02))
    drift = [e for e in events if e[1] == "drift"]
    assert drift and drift[0][2] == "cusum.brightness"
    assert all(g.state != "drift" for g in m.groups[1:])  # the quantiles follow (a warning at most)
    assert m.drift_detected and m.cusums[0].value > m.cusums[0].h
    assert m.forecast(None, 0.10).startswith("brightness +")  # the leading CUSUM's trend
    assert m.causes(DT * 199)[0].code == "lighting"
    (brightness, *_) = m.statistics()
    assert brightness.kind == "cusum" and brightness.verdict == "drift" and not brightness.warming_up
    assert brightness.score == m.cusums[0].magnitude and brightness.threshold == m.cusums[0].h


def test_a_bucket_that_saw_a_sudden_change_is_not_fed() -> None:
    m = SlowDriftMonitor(small_baseline())
    offsets = np.zeros((100, len(small_baseline().scalar_names)))
    offsets[:, 0] = 10 * _bucket_sd(0)  # far off, but the sudden-change statistics own it
    assert _feed(m, offsets, sudden=lambda i: True) == []
    assert all(c.magnitude == 0.0 for c in m.cusums)


def test_a_cusum_that_only_echoed_a_sudden_change_recovers_when_it_ends() -> None:
    m = SlowDriftMonitor(small_baseline())
    offsets = np.zeros((40, len(small_baseline().scalar_names)))
    offsets[20:, 0] = 50 * _bucket_sd(0)  # a step at frame 20; the sudden-change statistics see it from 30 on
    events = _feed(m, offsets, sudden=lambda i: i >= 30)
    # the bucket of frames 20..29 closes at frame 30: it was clean, so it is fed, and the CUSUM jumps into drift
    assert (30, "drift", "cusum.brightness") in events
    # the sudden change ends at frame 40 (the scene is back to the reference): the echo is cleared at once
    events = _feed(m, np.zeros_like(offsets[:20]), start=40)
    assert events[0] == (40, "recovered", "cusum.brightness")
    assert not m.drift_detected and m.cusums[0].magnitude == 0.0


def test_buckets_with_too_few_frames_are_not_fed() -> None:
    m = SlowDriftMonitor(small_baseline(), min_frames=11)  # 10 frames per bucket: none is enough
    assert _feed(m, _ramp(200, 0.05)) == []
    assert all(c.magnitude == 0.0 for c in m.cusums)


def _steady(m: SlowDriftMonitor, offset: np.ndarray, hours: float, dt: float) -> list[tuple[float, str, str]]:
    """Frames ``dt`` s apart for ``hours`` at the reference means plus ``offset`` (S,); (time, kind, group)."""
    b = small_baseline()
    out = []
    for i in range(round(hours * 3600 / dt)):
        for t in m.update(dt * i, b.scalar_mean + offset, False).transitions:
            out.append((dt * i, t.kind, t.group))
    return out


def test_an_offset_the_reference_mean_could_have_got_wrong_is_not_a_slow_drift() -> None:
    # 120 frames a minute against a 600-frame reference: a bucket mean is more precise than the reference mean,
    # so the reference's own error, the same in every bucket, would add up in a CUSUM with the plain allowance.
    m = SlowDriftMonitor(small_baseline())
    b, dt = small_baseline(), 0.5
    offset = 2.0 * m.reference_se  # within the reference's uncertainty (the allowance covers ~3 se)
    sd = np.maximum(
        [mean_sd(b.scalar_std[i], b.scalar_acf[i], 120) for i in range(len(offset))], SCALAR_SD_FLOOR
    )
    plain = offset / sd - b.thresholds.cusum_k
    assert plain[0] > 0.3  # the plain CUSUM on brightness would climb >= 0.3 a minute: past h within the hour
    assert _steady(m, offset, 2.0, dt) == []
    assert all(c.magnitude == 0.0 for c in m.cusums)


def test_a_drift_beyond_the_reference_uncertainty_is_still_caught() -> None:
    m = SlowDriftMonitor(small_baseline())
    offset = np.zeros(len(small_baseline().scalar_names))
    offset[0] = 6.0 * m.reference_se[0]  # brightness, twice what the reference could have got wrong
    events = _steady(m, offset, 2.0, 0.5)
    assert ("drift", "cusum.brightness") in [(kind, g) for _, kind, g in events]
