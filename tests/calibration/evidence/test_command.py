"""``camdrift evidence list|export|curate`` as a person preparing labels runs it: files written, filters
applied, bad input named in one line (exit 2), an empty selection said (exit 1)."""

from __future__ import annotations

import json
import os
import tarfile
from pathlib import Path

import pytest

from camdrift.agent.cli import main
from camdrift.agent.output.evidence import EvidenceSpool
from tests.calibration.cli_fixtures import assert_clean_failure, camdrift
from tests.calibration.evidence.spools import episode, flag, photos, probs

WRITES = {
    "coco": ["annotations.json", "items.jsonl"],
    "label-studio": ["tasks.json", "label_config.xml", "items.jsonl"],
    "cvat": ["annotations.xml", "items.jsonl"],
}


def test_the_installed_command_exports_since_a_time(classifier: Path, tmp_path: Path) -> None:
    """Through the entry point, in a fresh interpreter: 2023-11-14T23:13:20Z is T0 + 1 h."""
    out = tmp_path / "bundle"
    proc = camdrift(
        "evidence",
        "export",
        "--spool",
        classifier,
        "--format",
        "tar",
        "--since",
        "2023-11-14T23:13:20Z",
        "--out",
        out,
    )
    assert proc.returncode == 0, proc.stderr
    assert "wrote 6 capture(s)" in proc.stdout
    with tarfile.open(out / "evidence.tar.gz") as tar:
        names = tar.getnames()
    assert "evidence/ep-focus-f36000/frame_00.jpg" in names and not any("ep-light-f0/" in n for n in names)


@pytest.mark.parametrize("fmt", sorted(WRITES))
def test_each_format_writes_its_files_and_every_image(
    fmt: str, classifier: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / fmt
    assert main(["evidence", "export", "--spool", str(classifier), "--format", fmt, "--out", str(out)]) == 0
    assert all((out / name).is_file() for name in WRITES[fmt])
    assert len(list((out / "images").glob("*__frame_*.jpg"))) == 12
    assert "wrote 12 image(s) of 8 capture(s)" in capsys.readouterr().out


def test_episode_and_reason_filters_pick_what_is_exported(classifier: Path, tmp_path: Path) -> None:
    base = ["evidence", "export", "--spool", str(classifier), "--format", "coco"]
    assert main([*base, "--episode", "ep-focus", "--out", str(tmp_path / "a")]) == 0
    images = json.loads((tmp_path / "a/annotations.json").read_text())["images"]
    assert {i["episode_id"] for i in images} == {"ep-focus"} and len(images) == 3
    assert main([*base, "--reason", "false_positive", "--out", str(tmp_path / "b")]) == 0
    images = json.loads((tmp_path / "b/annotations.json").read_text())["images"]
    assert [i["reason"] for i in images] == ["false_positive", "false_positive"]


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--spool", "{tmp}/nope", "--format", "coco"], ["nope does not exist"]),
        (["--spool", "{spool}", "--format", "yolo"], ["--format", "invalid choice: 'yolo'"]),
        (
            ["--spool", "{spool}", "--format", "cvat", "--episode", "ep-9"],
            ["unknown episode 'ep-9'", "ep-focus"],
        ),
        (["--spool", "{spool}", "--format", "cvat", "--since", "yesterday"], ["--since must be"]),
    ],
)
def test_bad_input_is_one_line_naming_the_culprit(
    args: list, needles: list, classifier: Path, tmp_path: Path
) -> None:
    argv = [a.format(tmp=tmp_path, spool=classifier) for a in args]
    proc = camdrift("evidence", "export", *argv, "--out", tmp_path / "out")
    assert_clean_failure(proc, *needles)
    assert len(proc.stderr.strip().splitlines()) == 1 and not (tmp_path / "out").exists()


def test_an_unwritable_out_names_the_folder_and_the_reason(classifier: Path, tmp_path: Path) -> None:
    blocked = tmp_path / "ro"
    blocked.mkdir()
    blocked.chmod(0o500)  # a folder the user may not write into (root ignores the mode: then use a file)
    out = blocked / "export" if os.geteuid() != 0 else tmp_path / "file" / "export"
    if os.geteuid() == 0:
        (tmp_path / "file").write_text("not a folder")
    proc = camdrift("evidence", "export", "--spool", classifier, "--format", "coco", "--out", out)
    assert_clean_failure(proc, str(out.parent))
    assert "Errno" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_an_export_that_fails_midway_leaves_no_half_export(classifier: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "export"
    (out / "annotations.json").mkdir(parents=True)  # the annotations cannot be written, after the images
    assert (
        main(["evidence", "export", "--spool", str(classifier), "--format", "coco", "--out", str(out)]) == 2
    )
    assert "annotations.json" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["annotations.json"]  # no images/ left behind
    (out / "annotations.json").rmdir()
    assert (
        main(["evidence", "export", "--spool", str(classifier), "--format", "coco", "--out", str(out)]) == 0
    )
    assert len(list((out / "images").iterdir())) == 12


@pytest.mark.parametrize(("fmt", "blocked", "never"), [("label-studio", "label_config.xml", "tasks.json"),
                                                       ("coco", "items.jsonl", "annotations.json")])  # fmt: skip
def test_a_failed_export_leaves_no_annotation_file_naming_missing_images(
    classifier: Path, tmp_path: Path, fmt: str, blocked: str, never: str
) -> None:
    out = tmp_path / "export"
    (out / blocked).mkdir(parents=True)  # the second file cannot be written, after the first was
    assert main(["evidence", "export", "--spool", str(classifier), "--format", fmt, "--out", str(out)]) == 2
    assert sorted(p.name for p in out.iterdir()) == [blocked]


def test_a_curate_onto_a_folder_copies_nothing(classifier: Path, tmp_path: Path, capsys) -> None:
    (tmp_path / "next.json").mkdir()
    assert main(["evidence", "curate", "--spool", str(classifier), "--out", str(tmp_path / "next.json")]) == 2
    assert "next.json: is a folder" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["next.json"]


def test_an_empty_selection_is_said_and_writes_nothing(classifier: Path, tmp_path: Path, capsys) -> None:
    argv = ["--spool", str(classifier), "--reason", "false_negative", "--out", str(tmp_path / "out")]
    assert main(["evidence", "export", "--format", "coco", *argv]) == 1
    assert main(["evidence", "curate", *argv[:-1], str(tmp_path / "m.json")]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("camdrift evidence: no capture in") and "flagged 'false_negative'" in err[0]
    assert err[0].endswith("nothing written") and len(err) == 2
    assert not (tmp_path / "out").exists() and not (tmp_path / "m.json").exists()


def test_curate_writes_a_manifest_and_names_a_bad_report(classifier: Path, tmp_path: Path, capsys) -> None:
    argv = ["evidence", "curate", "--spool", str(classifier), "--out", str(tmp_path / "m.json"), "--max", "4"]
    assert main(argv) == 0
    doc = json.loads((tmp_path / "m.json").read_text())
    assert len(doc["items"]) == 4 and all(Path(i["image"]).is_file() for i in doc["items"])
    assert "wrote" in capsys.readouterr().out
    (tmp_path / "bad.json").write_text("[1, 2")
    assert main([*argv, "--agreement", str(tmp_path / "bad.json")]) == 2
    assert "bad.json: cannot read" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main([*argv, "--per-group", "0"])
    assert exc.value.code == 2 and "--per-group" in capsys.readouterr().err


def test_list_shows_each_capture_and_the_count(tmp_path: Path, capsys) -> None:
    spool = EvidenceSpool(tmp_path / "spool", min_interval_s=0)
    a = photos()[0]
    episode(spool, [a], "ep7", "lighting", 0.0, [probs(0)])
    flag(spool, a, "uncertain", 1.0, None)
    assert main(["evidence", "list", "--spool", str(tmp_path / "spool")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("2023-11-14 22:13:20  ep7-f0") and "episode" in out[0] and out[0].endswith("ep7")
    assert "flag" in out[1] and out[1].endswith("uncertain")
    assert out[-1] == "2 capture(s)"
    assert main(["evidence", "list", "--spool", str(tmp_path / "none")]) == 2
