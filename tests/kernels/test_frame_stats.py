"""frame_stats against its plain-numpy reference, on real photographs and on hypothesis-drawn frames."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from camdrift.kernels import FrameStats, KernelParams, frame_stats
from tests.kernels.naive import naive_frame_stats, naive_luma

# Floats: moments and variances are exact sums of integers divided once, so only rounding separates them.
RTOL = 1e-9


def assert_matches(got: FrameStats, want: dict) -> None:
    np.testing.assert_array_equal(got.channel_hist, want["channel_hist"])
    np.testing.assert_array_equal(got.luma_hist, want["luma_hist"])
    assert got.pixel_count == want["pixel_count"]
    for name in ("mean", "var", "grid_sharpness"):
        np.testing.assert_allclose(getattr(got, name), want[name], rtol=RTOL, atol=1e-9, err_msg=name)
    for name in (
        "luma_mean",
        "luma_var",
        "under_exposed",
        "over_exposed",
        "sharpness",
        "noise_sigma",
        "rg",
        "bg",
    ):
        assert getattr(got, name) == pytest.approx(want[name], rel=RTOL, abs=1e-9), name
    # the thumbnail is stored as float32 (it is what the engine keeps per frame)
    np.testing.assert_allclose(got.thumbnail, want["thumbnail"], rtol=1e-6, atol=1e-4)


@pytest.fixture(scope="module")
def astronaut_bgr() -> np.ndarray:
    from skimage import data

    return np.ascontiguousarray(data.astronaut()[:, :, ::-1])


@pytest.fixture(scope="module")
def coffee_bgr() -> np.ndarray:
    from skimage import data

    return np.ascontiguousarray(data.coffee()[:, :, ::-1])


def test_luma_histogram_is_opencv_gray(astronaut_bgr: np.ndarray) -> None:
    stats = frame_stats(astronaut_bgr)
    gray = cv2.cvtColor(astronaut_bgr, cv2.COLOR_BGR2GRAY)
    np.testing.assert_array_equal(stats.luma_hist, np.bincount(gray.ravel(), minlength=256))
    for k in range(3):
        want = cv2.calcHist([astronaut_bgr], [k], None, [256], [0, 256]).ravel().astype(np.int64)
        np.testing.assert_array_equal(stats.channel_hist[k], want)


def test_sharpness_is_opencv_laplacian_variance(coffee_bgr: np.ndarray) -> None:
    stats = frame_stats(coffee_bgr)
    gray = cv2.cvtColor(coffee_bgr, cv2.COLOR_BGR2GRAY)
    lap = cv2.Laplacian(gray, cv2.CV_64F, ksize=1)[1:-1, 1:-1]
    assert stats.sharpness == pytest.approx(lap.var(), rel=1e-9)


@pytest.mark.parametrize("stride", [1, 2, 3])
def test_real_photo_matches_reference(coffee_bgr: np.ndarray, stride: int) -> None:
    roi = (17, 9, 411, 301)
    got = frame_stats(coffee_bgr, roi=roi, stride=stride, thumb_size=(32, 48), grid=6)
    assert_matches(got, naive_frame_stats(coffee_bgr, roi=roi, stride=stride, thumb_size=(32, 48), grid=6))


def test_rgb_input_gives_the_same_stats_as_bgr(astronaut_bgr: np.ndarray) -> None:
    bgr = frame_stats(astronaut_bgr, stride=2)
    rgb = frame_stats(np.ascontiguousarray(astronaut_bgr[:, :, ::-1]), pixel_format="rgb8", stride=2)
    np.testing.assert_array_equal(bgr.channel_hist, rgb.channel_hist)
    np.testing.assert_array_equal(bgr.luma_hist, rgb.luma_hist)
    assert bgr.rg == rgb.rg and bgr.sharpness == rgb.sharpness


def test_roi_view_is_read_without_copy_and_equals_cropped_copy(astronaut_bgr: np.ndarray) -> None:
    roi = (100, 50, 200, 120)
    view_stats = frame_stats(astronaut_bgr, roi=roi)
    crop = np.ascontiguousarray(astronaut_bgr[50:170, 100:300])
    crop_stats = frame_stats(crop)
    np.testing.assert_array_equal(view_stats.channel_hist, crop_stats.channel_hist)
    assert view_stats.sharpness == crop_stats.sharpness
    np.testing.assert_array_equal(view_stats.thumbnail, crop_stats.thumbnail)


def test_nv12_colour_histograms_are_opencv_decoded_pixels(coffee_bgr: np.ndarray) -> None:
    h, w = 200, 300
    small = cv2.resize(coffee_bgr, (w, h))
    i420 = cv2.cvtColor(small, cv2.COLOR_BGR2YUV_I420)
    y = i420[:h]
    u = i420[h : h + h // 4].reshape(h // 2, w // 2)
    v = i420[h + h // 4 :].reshape(h // 2, w // 2)
    nv12 = np.vstack([y, np.stack([u, v], axis=-1).reshape(h // 2, w)])
    stats = frame_stats(nv12, pixel_format="nv12")
    decoded = cv2.cvtColor(nv12, cv2.COLOR_YUV2BGR_NV12)
    for k in range(3):
        np.testing.assert_array_equal(
            stats.channel_hist[k], np.bincount(decoded[..., k].ravel(), minlength=256)
        )
    np.testing.assert_array_equal(stats.luma_hist, np.bincount(y.ravel(), minlength=256))


def test_gray16_twelve_bit(coffee_bgr: np.ndarray) -> None:
    gray = cv2.cvtColor(coffee_bgr, cv2.COLOR_BGR2GRAY).astype(np.uint16) * 16 + 7  # 12-bit values
    got = frame_stats(gray, pixel_format="gray16", bit_depth=12, stride=2)
    assert_matches(got, naive_frame_stats(gray, pixel_format="gray16", bit_depth=12, stride=2))
    assert got.luma_mean == pytest.approx(gray[::2, ::2].mean() / 16)


def test_constant_frame() -> None:
    frame = np.full((48, 64, 3), 77, np.uint8)
    stats = frame_stats(frame)
    assert stats.luma_hist[77] == 48 * 64 and stats.luma_hist.sum() == 48 * 64
    assert stats.sharpness == 0.0 and stats.noise_sigma == 0.0
    assert stats.luma_var == 0.0 and stats.rg == 1.0 and stats.bg == 1.0
    assert np.all(stats.thumbnail == 77.0)


def test_black_frame_has_zero_colour_ratios_and_is_under_exposed() -> None:
    stats = frame_stats(np.zeros((20, 30, 3), np.uint8))
    assert stats.rg == 0.0 and stats.bg == 0.0
    assert stats.under_exposed == 1.0 and stats.over_exposed == 0.0


def test_tiny_frames_shrink_thumbnail_and_grid() -> None:
    stats = frame_stats(np.arange(6, dtype=np.uint8).reshape(2, 3), pixel_format="gray8")
    assert stats.thumbnail.shape == (2, 3)
    assert stats.grid_sharpness.shape == (2, 3)
    assert stats.sharpness == 0.0  # no interior pixel


def test_defocus_lowers_sharpness_and_noise_raises_noise_estimate(coffee_bgr: np.ndarray) -> None:
    sharp = frame_stats(coffee_bgr)
    blurred = frame_stats(cv2.GaussianBlur(coffee_bgr, (0, 0), 1.5))
    assert blurred.sharpness < 0.3 * sharp.sharpness
    rng = np.random.default_rng(3)
    smooth = cv2.GaussianBlur(coffee_bgr, (0, 0), 2.0)
    noisy = np.clip(smooth + rng.normal(0, 8.0, smooth.shape), 0, 255).astype(np.uint8)
    # Immerkaer's estimate recovers the added noise (luma mixes three independent channels).
    expected = 8.0 * np.sqrt((3735**2 + 19235**2 + 9798**2) / 32768**2)
    assert frame_stats(noisy).noise_sigma == pytest.approx(expected, rel=0.15)


# --- hypothesis: shapes, strides, ROIs, formats, non-contiguous views --------------------------------------


@st.composite
def frames(draw: st.DrawFn) -> tuple[np.ndarray, dict]:
    fmt = draw(st.sampled_from(["bgr8", "rgb8", "gray8", "gray16", "nv12"]))
    h = draw(st.integers(1, 23))
    w = draw(st.integers(1, 23))
    if fmt == "nv12":
        h, w = 2 * ((h + 1) // 2), 2 * ((w + 1) // 2)
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    kind = draw(st.sampled_from(["random", "constant", "smooth"]))
    bit_depth = draw(st.sampled_from([10, 12, 16])) if fmt == "gray16" else None
    top = (1 << bit_depth) if bit_depth else 256
    dtype = np.uint16 if fmt == "gray16" else np.uint8
    shape = {
        "bgr8": (h, w, 3),
        "rgb8": (h, w, 3),
        "gray8": (h, w),
        "gray16": (h, w),
        "nv12": (h * 3 // 2, w),
    }[fmt]
    if kind == "constant":
        arr = np.full(shape, rng.integers(0, top), dtype)
    elif kind == "random":
        arr = rng.integers(0, top, shape).astype(dtype)
    else:
        ramp = np.add.outer(np.arange(shape[0]), np.arange(shape[1])) * draw(st.integers(1, 9))
        arr = (ramp % top).astype(dtype)
        if arr.ndim == 2 and len(shape) == 3:
            arr = np.repeat(arr[..., None], 3, axis=2)
    # A non-contiguous view: the same pixels inside a larger buffer.
    if draw(st.booleans()):
        big = np.zeros((shape[0] * 2,) + shape[1:], dtype)
        big[::2] = arr
        arr = big[::2]
        assert not arr.flags.c_contiguous or shape[0] == 1
    params: dict = {"pixel_format": fmt, "stride": draw(st.integers(1, 4)), "bit_depth": bit_depth}
    if draw(st.booleans()):
        rx = draw(st.integers(0, w - 1))
        ry = draw(st.integers(0, h - 1))
        rw = draw(st.integers(1, w - rx))
        rh = draw(st.integers(1, h - ry))
        if fmt == "nv12":
            rx, ry = rx - rx % 2, ry - ry % 2
        params["roi"] = (rx, ry, rw, rh)
    params["thumb_size"] = (draw(st.integers(1, 9)), draw(st.integers(1, 9)))
    params["grid"] = draw(st.integers(1, 5))
    lo = draw(st.integers(0, 120))
    params["under_threshold"] = lo
    params["over_threshold"] = draw(st.integers(lo + 1, 255))
    return arr, params


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames())
def test_matches_reference_over_formats_shapes_strides_rois(case: tuple[np.ndarray, dict]) -> None:
    arr, params = case
    assert_matches(frame_stats(arr, **params), naive_frame_stats(arr, **params))


@settings(max_examples=60, deadline=None)
@given(st.integers(3, 40), st.integers(3, 40), st.integers(0, 2**32 - 1))
def test_stride_one_fast_path_equals_generic_path(h: int, w: int, seed: int) -> None:
    """The stride-1 kernel (luma ring buffer) and the generic kernel must agree, checked via stride-1 ROIs."""
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 256, (h, w, 3)).astype(np.uint8)
    got = frame_stats(arr, stride=1)
    assert_matches(got, naive_frame_stats(arr, stride=1))
    np.testing.assert_array_equal(got.luma_hist, np.bincount(naive_luma(arr).ravel(), minlength=256))


# --- bad input -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "kwargs", "exc", "message"),
    [
        (np.zeros((4, 4, 3), np.float32), {}, TypeError, "dtype uint8"),
        (np.zeros((4, 4, 4), np.uint8), {}, ValueError, r"shape \(H, W, 3\)"),
        (np.zeros((4, 4), np.uint8), {}, ValueError, r"shape \(H, W, 3\)"),
        (np.zeros((4, 4, 3), np.uint8), {"pixel_format": "gray8"}, ValueError, r"shape \(H, W\)"),
        (np.zeros((4, 4), np.uint8), {"pixel_format": "yuyv"}, ValueError, "pixel_format"),
        (np.zeros((4, 4, 3), np.uint8), {"roi": (2, 2, 3, 1)}, ValueError, "outside"),
        (np.zeros((4, 4, 3), np.uint8), {"roi": (0, 0, 0, 2)}, ValueError, "empty"),
        (np.zeros((4, 4, 3), np.uint8), {"stride": 0}, ValueError, "stride"),
        (np.zeros((4, 4, 3), np.uint8), {"stride": 1.5}, TypeError, "stride"),
        (np.zeros((4, 4), np.uint16), {"pixel_format": "gray16"}, ValueError, "bit_depth"),
        (np.zeros((4, 4), np.uint16), {"pixel_format": "gray16", "bit_depth": 17}, ValueError, "bit_depth"),
        (np.full((4, 4), 5000, np.uint16), {"pixel_format": "gray16", "bit_depth": 12}, ValueError, "5000"),
        (np.zeros((5, 4), np.uint8), {"pixel_format": "nv12"}, ValueError, "nv12"),
        (np.zeros((6, 4), np.uint8), {"pixel_format": "nv12", "roi": (1, 0, 2, 2)}, ValueError, "even"),
        (
            np.zeros((4, 4, 3), np.uint8),
            {"under_threshold": 200, "over_threshold": 100},
            ValueError,
            "threshold",
        ),
        ([[1, 2], [3, 4]], {"pixel_format": "gray8"}, TypeError, "numpy array"),
    ],
)
def test_bad_input_is_named(frame: object, kwargs: dict, exc: type, message: str) -> None:
    with pytest.raises(exc, match=message):
        frame_stats(frame, **kwargs)  # type: ignore[arg-type]


def test_kernel_params_run_the_kernel_with_every_parameter(coffee_bgr: np.ndarray) -> None:
    """One record carries what a baseline fixes; running it equals spelling every argument out."""
    params = KernelParams(
        pixel_format="bgr8",
        roi=[8, 6, 120, 90],
        stride=2,
        thumb_size=[8, 8],
        grid=4,
        under_threshold=20,
        over_threshold=200,
    )
    assert params.roi == (8, 6, 120, 90) and params.thumb_size == (8, 8)  # lists from JSON become tuples
    got = params.stats(coffee_bgr)
    want = frame_stats(
        coffee_bgr,
        roi=(8, 6, 120, 90),
        stride=2,
        thumb_size=(8, 8),
        grid=4,
        under_threshold=20,
        over_threshold=200,
    )
    for name, value in want._asdict().items():
        np.testing.assert_array_equal(getattr(got, name), value, err_msg=name)
    assert params.with_resolution((640, 480)).resolution == (640, 480)
    assert params.with_resolution((640, 480)).stats(coffee_bgr).pixel_count == got.pixel_count
    with pytest.raises(TypeError):
        KernelParams(roi=(0.5, 0, 10, 10))  # a fractional pixel is refused, not truncated
