"""Fuzzing the commands' numeric options, through ``camdrift``'s main in-process (argv in, SystemExit caught):
inf, NaN, 400-digit numbers, 1e-9, 0, negatives and garbage. Every refusal is exit 2 with one line naming the
option (or, for a value that is fine, the deliberate culprit that stops the command before any work); never a
traceback, never a hang, and no bad value is accepted."""

from __future__ import annotations

import math
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.support import CASES, SCRATCH, assert_one_line, fuzz_settings, run_cli

NOWHERE = "/nonexistent-camdrift-fuzz"
# option -> (lowest valid, highest valid, integer?); values outside must be refused naming the option.
CALIBRATE = {
    "--max-fps": (1e-3, 120, False), "--stride": (1, 64, True), "--frames": (1, 10**7, True),
    "--window": (2, 10**5, True), "--budget-days": (1e-3, 36500, False), "--replicates": (200, 10**5, True),
    "--bins": (2, 256, True), "--thumb": (1, 256, True), "--grid": (1, 64, True), "--seed": (0, 2**32 - 1, True),
    "--model-every-n": (1, 10**4, True), "--model-window": (1, 10**5, True), "--model-threads": (1, 256, True),
    "--model-scale": (5e-324, 1e6, False),
}  # fmt: skip
MERGE = {
    "--replicates": (200, 10**5, True),
    "--warn-budget-days": (1e-3, 36500, False),
    "--seed": (0, 2**32 - 1, True),
}
VERIFY = {"--frames": (1, 10**7, True)}
AGREEMENT = {
    "--iou": (5e-324, 1, False), "--top": (0, 10**5, True), "--window": (1, 10**6, True),
    "--z": (5e-324, 1000, False), "--min-drop": (0, 1, False),
}  # fmt: skip
LABELS = SCRATCH / "cli-labels.csv"
LABELS.write_text(
    "item,annotator,label\n" + "".join(f"i{n},x,{n % 2}\ni{n},y,{n % 3 % 2}\n" for n in range(6))
)

text_number = st.one_of(
    st.sampled_from(["inf", "-inf", "nan", "NaN", "1e-9", "5e-324", "0", "-0", "-1", "1e308", "1e999", "0x10",
                     "1" * 400, "9" * 25, "", " ", "1,5", "10m", "1.5h", "2", "3", "0.5", "64", "65", "1000"]),
    st.integers(-(10**30), 10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(max_size=6),
)  # fmt: skip


def _valid(text: str, lo: float, hi: float, integer: bool) -> bool:
    try:
        v = int(text) if integer else float(text)
    except ValueError:
        return False
    return (isinstance(v, int) or math.isfinite(v)) and lo <= v <= hi


def _argv(command: str, option: str, value: str) -> tuple[list[str], str]:
    """(argv, the deliberate culprit a valid value runs into)."""
    opt = [f"{option}={value}"]  # = form: a value starting with "-" stays the option's
    if command == "calibrate":
        frames = [] if option == "--frames" else ["--frames", "10"]
        return [
            "calibrate",
            "--source",
            "synthetic:stationary",
            *frames,
            *opt,
            "--out",
            f"{NOWHERE}/b.npz",
        ], "--out"
    if command == "merge":
        return ["baseline", "merge", f"{NOWHERE}/a.npz", f"{NOWHERE}/b.npz", *opt, "--out", "x.npz"], NOWHERE
    if command == "verify":
        return ["verify", "--baseline", f"{NOWHERE}/a.npz", *opt], NOWHERE
    if command == "duration":
        return [
            "calibrate",
            "--source",
            "synthetic:stationary",
            f"--duration={value}",
            "--out",
            f"{NOWHERE}/b",
        ], "--out"
    if command == "fps-uri":
        uri = f"dir:{SCRATCH}?fps={value}"
        return ["calibrate", f"--source={uri}", "--frames", "5", "--out", f"{NOWHERE}/b.npz"], "--out"
    return ["agreement", str(LABELS), *opt, "--out", str(SCRATCH / "report.json")], str(LABELS)


case = st.one_of(
    st.tuples(st.just("calibrate"), st.sampled_from(sorted(CALIBRATE)), text_number),
    st.tuples(st.just("merge"), st.sampled_from(sorted(MERGE)), text_number),
    st.tuples(st.just("verify"), st.sampled_from(sorted(VERIFY)), text_number),
    st.tuples(st.just("agreement"), st.sampled_from(sorted(AGREEMENT)), text_number),
    st.tuples(st.just("duration"), st.just("--duration"), text_number),
    st.tuples(st.just("fps-uri"), st.just("fps"), text_number),
)
RANGES = {"calibrate": CALIBRATE, "merge": MERGE, "verify": VERIFY, "agreement": AGREEMENT}
NAMES = {"--iou": ("--iou", "IoU"), "fps": ("fps",), "--duration": ("--duration",)}


@fuzz_settings(CASES)
@given(case)
def test_numeric_options_are_refused_in_one_line_naming_them(c: tuple[str, str, str]) -> None:
    command, option, value = c
    argv, culprit = _argv(command, option, value)
    code, _out, err = run_cli(argv)
    names = NAMES.get(option, (option,))
    if command == "agreement" and code == 0:  # a valid value: the report was computed
        assert _valid(value, *AGREEMENT[option]), f"{option}={value!r} was accepted"
        return
    assert code == 2, (argv, code, err)
    if option == "--stride" and _valid(value, 1, 10**30, True):  # the config's own range, named by its key
        names = (option, "analysis.stride")
    assert_one_line(err, *names, culprit)
    if command in RANGES and not _valid(value, *RANGES[command][option]):
        assert any(n in err for n in names), f"{option}={value!r} not refused by name: {err!r}"
    if command == "fps-uri" and not _valid(value, 1e-3, 1e6, False):
        assert "fps" in err, err


def test_the_scratch_label_file_is_a_valid_agreement_input() -> None:
    code, out, err = run_cli(["agreement", str(LABELS), "--out", str(Path(SCRATCH) / "report.json")])
    assert code == 0, err
    assert "report written" in out
