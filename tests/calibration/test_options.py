"""The technician commands' shared options: parsers that name the bad value, source settings from --config with
the options on top, and refusals of unusable output paths and baseline files that name the culprit."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from camdrift.agent.tap import TapReader
from camdrift.calibration.options import (
    UsageError,
    add_source_arguments,
    check_output,
    make_source,
    parse_duration,
    parse_roi,
    positive_int,
    read_baseline,
    source_settings,
)
from camdrift.kernels import KernelParams


def _args(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    add_source_arguments(p)
    return p.parse_args(list(argv))


def test_parsers_take_the_documented_forms_and_name_a_bad_value() -> None:
    assert parse_roi("10, 20,300,200") == (10, 20, 300, 200)
    assert [parse_duration(t) for t in ("90", "90s", "10m", "1.5h")] == [90.0, 90.0, 600.0, 5400.0]
    assert positive_int("3") == 3
    for parse, text, message in (
        (parse_roi, "1,2,3", "want x,y,w,h"),
        (parse_roi, "0,0,0,5", "w, h >= 1"),
        (parse_duration, "ten minutes", "want a duration"),
        (parse_duration, "0s", "want a duration"),
        (positive_int, "0", ">= 1"),
        (positive_int, "x", "want an integer"),
    ):
        with pytest.raises(argparse.ArgumentTypeError, match=message):
            parse(text)


def test_options_override_the_config_and_give_the_kernel_parameters(tmp_path: Path) -> None:
    cfg = tmp_path / "cam.toml"
    cfg.write_text(
        '[camera]\nid = "line-3"\n[source]\nuri = "synthetic:stationary"\npixel_format = "rgb8"\n'
        "[analysis]\nmax_fps = 4.0\nstride = 2\n"
    )
    s = source_settings(_args("--config", str(cfg), "--roi", "0,0,80,60", "--max-fps", "2"))
    assert (s.uri, s.pixel_format, s.roi, s.max_fps, s.stride, s.camera_id) == (
        "synthetic:stationary",
        "rgb8",
        (0, 0, 80, 60),
        2.0,
        2,
        "line-3",
    )
    assert s.kernel(thumb_size=(32, 32), grid=4) == KernelParams(
        pixel_format="rgb8", roi=(0, 0, 80, 60), stride=2, thumb_size=(32, 32), grid=4
    )


def test_a_missing_or_bad_source_setting_is_named() -> None:
    with pytest.raises(UsageError, match="no source: pass --source SRC"):
        source_settings(_args())
    assert source_settings(_args(), need_source=False).uri == "synthetic:stationary"
    with pytest.raises(UsageError, match="configuration error"):
        source_settings(_args("--source", "synthetic:stationary", "--pixel-format", "yuyv"))


def test_unusable_outputs_and_baselines_are_refused_naming_the_file(tmp_path: Path) -> None:
    assert check_output(str(tmp_path / "b.npz"), "--out") == tmp_path / "b.npz"
    with pytest.raises(UsageError, match="is a folder"):
        check_output(str(tmp_path), "--out")
    with pytest.raises(UsageError, match="does not exist"):
        check_output(str(tmp_path / "no" / "b.npz"), "--out")
    with pytest.raises(UsageError, match="--baseline .*missing.npz: no such file"):
        read_baseline(str(tmp_path / "missing.npz"))
    bad = tmp_path / "bad.npz"
    bad.write_text("not a baseline")
    with pytest.raises(UsageError, match="--baseline: refused: .*not a readable baseline file"):
        read_baseline(str(bad))


def test_a_tools_tap_source_leaves_the_app_flags_to_the_agent() -> None:
    source = make_source("shm:line1", "bgr8")
    assert isinstance(source, TapReader) and not source.take_flags
