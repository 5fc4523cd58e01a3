"""The boundary-rules TOML: the documented schema reads into typed rules; anything else is one line naming the
file and the key, and ``camdrift agreement --rules`` exits 2 with it."""

from __future__ import annotations

from pathlib import Path

import pytest

from camdrift.agent.cli import main
from camdrift.calibration.agreement.labels import LabelError
from camdrift.calibration.agreement.rules import BoundaryRules, DefectRule, load_rules

FULL = """
[defect]            # criteria the team declared
min_size_px = 24    # px, longest box side
margin = 0.25
classes = ["scratch", "dent"]

[classification]
boundary_pairs = [["ok", "minor_scratch"], ["scratch", "dent"]]
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "rules.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_the_documented_example_reads(tmp_path):
    p = write(tmp_path, FULL)
    assert load_rules(p) == BoundaryRules(
        str(p), DefectRule(24.0, 0.25, ("scratch", "dent")), (("ok", "minor_scratch"), ("scratch", "dent"))
    )
    assert load_rules(p).defect.low_px == 18.0 and load_rules(p).defect.high_px == 30.0


def test_defaults_margin_and_every_class(tmp_path):
    rule = load_rules(write(tmp_path, "[defect]\nmin_size_px = 10\n")).defect
    assert (rule.margin, rule.classes) == (0.25, ()) and rule.applies_to("anything")
    assert load_rules(write(tmp_path, '[classification]\nboundary_pairs = [["a", "b"]]\n')).defect is None


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ("[defect]\nmin_size = 24\n", "key 'defect.min_size': unknown key"),
        ("[defects]\nmin_size_px = 24\n", "key 'defects': unknown table"),
        ("min_size_px = 24\n", "key 'min_size_px': unknown table"),
        ("[defect]\nmin_size_px = '24'\n", "key 'defect.min_size_px': expected a number"),
        ("[defect]\nmin_size_px = true\n", "key 'defect.min_size_px': expected a number"),
        ("[defect]\nmin_size_px = 0\n", r"key 'defect.min_size_px': must be in \(0"),
        ("[defect]\nmin_size_px = nan\n", "key 'defect.min_size_px': expected a number"),
        ("[defect]\nmin_size_px = 5\nmargin = 1.5\n", r"key 'defect.margin': must be in \[0"),
        ("[defect]\nmargin = 0.2\n", "key 'defect.min_size_px': missing"),
        ("[defect]\nmin_size_px = 5\nclasses = 'scratch'\n", "key 'defect.classes': expected a list"),
        ("[classification]\nboundary_pairs = [['a']]\n", r"key 'classification.boundary_pairs\[0\]'"),
        ("[classification]\nboundary_pairs = [['a', 'a']]\n", "two different classes"),
        ("[classification]\nboundary_pairs = []\n", "key 'classification.boundary_pairs'"),
        ("[classification]\n", "key 'classification.boundary_pairs': missing"),
        ("", "declares no rule"),
        ("[defect\n", "bad TOML"),
    ],
)
def test_bad_rules_name_the_file_and_key(tmp_path, text, expect):
    with pytest.raises(LabelError, match=expect) as err:
        load_rules(write(tmp_path, text))
    assert str(err.value).startswith(str(tmp_path / "rules.toml")) and "\n" not in str(err.value)


def test_unreadable_and_oversized_files(tmp_path, monkeypatch):
    with pytest.raises(LabelError, match="cannot read"):
        load_rules(tmp_path / "missing.toml")
    from camdrift.calibration.agreement import rules

    monkeypatch.setattr(rules, "MAX_RULES_BYTES", 10)
    with pytest.raises(LabelError, match="not a rules file"):
        load_rules(write(tmp_path, FULL))


def test_cli_bad_rules_exit_2_before_reading_labels(tmp_path, capsys):
    labels = tmp_path / "l.csv"
    labels.write_text("item,annotator,label\na,x,1\na,y,1\n")
    rules = write(tmp_path, "[defect]\nmin_size_px = 24\nmargins = 0.3\n")
    assert main(["agreement", str(labels), "--rules", str(rules)]) == 2
    err = capsys.readouterr().err
    assert (
        err
        == f"camdrift agreement: {rules}: key 'defect.margins': unknown key (expected one of classes, margin, min_size_px)\n"
    )
