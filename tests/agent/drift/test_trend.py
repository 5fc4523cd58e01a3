"""Trend slopes and forecasts of the time to the tolerance crossing."""

from __future__ import annotations

import math

import numpy as np

from camdrift.agent.drift.trend import DAY_S, fit_trend


def test_linear_decay_slope_and_forecast() -> None:
    t = np.arange(0, 2 * DAY_S, 60.0)
    y = 100.0 - 0.4 * t / DAY_S  # -0.4 %/day of 100
    tr = fit_trend("brightness", t, y, np.ones_like(t), reference=100.0, lo=90.0, hi=110.0)
    assert tr is not None
    assert math.isclose(tr.slope, -0.4, rel_tol=1e-9)
    assert math.isclose(tr.rel_slope, -0.004, rel_tol=1e-9)
    # at the last bucket the value is 100 - 0.4 * (2 - 60/86400); 90 is reached 25 days after t = 0
    assert math.isclose(tr.days_to_tolerance, 25.0 - t[-1] / DAY_S, rel_tol=1e-9)
    assert tr.text.startswith("brightness -0.40%/day; crosses tolerance in ~23.0 days")


def test_flat_and_outside() -> None:
    t = np.arange(10) * 60.0
    flat = fit_trend("x", t, np.full(10, 5.0), np.ones(10), reference=5.0, lo=4.0, hi=6.0)
    assert flat is not None and math.isinf(flat.days_to_tolerance) and not flat.significant
    assert "no forecast: not a significant trend" in flat.text
    out = fit_trend("x", t, np.full(10, 7.0), np.ones(10), reference=5.0, lo=4.0, hi=6.0)
    assert out is not None and out.days_to_tolerance == 0.0
    assert fit_trend("x", t[:2], np.ones(2), np.ones(2), reference=1.0, lo=0.0, hi=2.0) is None


def test_hinge_finds_the_slope_after_a_change_point() -> None:
    rng = np.random.default_rng(0)
    t = np.arange(0, DAY_S, 60.0)
    onset = 0.6 * DAY_S
    y = 90.0 - 2.0 * np.maximum(t - onset, 0.0) / DAY_S + rng.normal(0, 0.05, t.size)
    plain = fit_trend("b", t, y, np.ones_like(t), reference=90.0, lo=81.0, hi=99.0)
    hinge = fit_trend("b", t, y, np.ones_like(t), reference=90.0, lo=81.0, hi=99.0, hinge=True)
    assert plain is not None and hinge is not None
    assert abs(hinge.slope + 2.0) < 0.1  # the plain line dilutes the slope with the flat part
    assert abs(plain.slope + 2.0) > 0.5


def _ar1(rng: np.random.Generator, n: int, rho: float, sd: float) -> np.ndarray:
    e = rng.normal(0.0, sd * math.sqrt(1 - rho**2), n)
    x = np.empty(n)
    x[0] = rng.normal(0.0, sd)
    for i in range(1, n):
        x[i] = rho * x[i - 1] + e[i]
    return x


def test_correlated_noise_without_a_trend_makes_no_forecast() -> None:
    # minute buckets of a product mix: correlated from one minute to the next, no drift at all
    t = np.arange(120) * 60.0
    forecasts = 0
    for seed in range(200):
        y = 100.0 + _ar1(np.random.default_rng(seed), t.size, 0.8, 0.5)
        tr = fit_trend("brightness", t, y, np.ones_like(t), reference=100.0, lo=90.0, hi=110.0, hinge=True)
        assert tr is not None
        forecasts += tr.significant
    # the hinge search picks the best of 48 change points, and rho is estimated: a few percent, not most
    assert forecasts <= 20, forecasts


def test_a_few_noisy_minutes_give_no_forecast() -> None:
    # the false forecast: a CUSUM crossing on a handful of buckets read as "+280 %/day, ~0.0 days"
    t = np.arange(4) * 60.0
    tr = fit_trend(
        "luma_p75", t, np.array([120.0, 121.5, 119.8, 123.0]), np.ones(4), reference=120.0, lo=108.0, hi=132.0
    )
    assert tr is not None and not tr.significant and "no forecast" in tr.text
    assert math.isinf(tr.days_to_tolerance)


def test_a_noisy_lamp_decay_is_forecast_and_the_forecast_brackets_the_truth() -> None:
    rng = np.random.default_rng(3)
    t = np.arange(0, 0.5 * DAY_S, 60.0)
    y = 100.0 * (1 - 0.2 * t / (7 * DAY_S)) + _ar1(rng, t.size, 0.6, 0.3)
    tr = fit_trend("brightness", t, y, np.ones_like(t), reference=100.0, lo=90.0, hi=110.0)
    assert tr is not None and tr.significant
    true_days = 3.5 - t[-1] / DAY_S  # 10 % of the light is gone after 3.5 days
    assert 0.7 * true_days < tr.days_to_tolerance < 1.3 * true_days, tr.text


def test_the_forecast_range_brackets_the_true_crossing_as_often_as_it_says() -> None:
    """Over many noisy lamps (AR(1) bucket noise, as a product mix gives), the 95 % range holds the true
    crossing time in at least 85 % of the forecasts, and the point forecast lies inside its own range."""
    held, made = 0, 0
    t = np.arange(0, 0.5 * DAY_S, 60.0)
    true_days = 3.5 - t[-1] / DAY_S
    for seed in range(200):
        rng = np.random.default_rng(1000 + seed)
        y = 100.0 * (1 - 0.2 * t / (7 * DAY_S)) + _ar1(rng, t.size, 0.6, 0.6)
        tr = fit_trend("brightness", t, y, np.ones_like(t), reference=100.0, lo=90.0, hi=110.0)
        assert tr is not None
        if not tr.significant:
            assert tr.days_range == (math.inf, math.inf)
            continue
        made += 1
        lo, hi = tr.days_range
        assert lo <= tr.days_to_tolerance <= hi
        assert f"({lo:.1f}-{hi:.1f} at 95 %)" in tr.text
        held += lo <= true_days <= hi
    assert made >= 100 and held >= 0.85 * made, (held, made)
