"""``camdrift agreement`` end to end: a real subprocess on real files in tmp_path."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.calibration.agreement.test_kappa import FLEISS_TABLE, codes_from_counts
from tests.calibration.agreement.test_timeline import label_stream

CAMDRIFT = Path(sys.executable).parent / "camdrift"


def camdrift(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(CAMDRIFT), "agreement", *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=60
    )


def test_fleiss_worked_example_end_to_end(tmp_path):
    codes = codes_from_counts(FLEISS_TABLE)  # 10 subjects x 14 raters
    rows = ["item,annotator,label"] + [
        f"subject{i + 1},rater{r + 1},cat{c + 1}" for i, row in enumerate(codes) for r, c in enumerate(row)
    ]
    (tmp_path / "fleiss.csv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "report.json"
    res = camdrift("fleiss.csv", "--out", out, "--top", "3", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    doc = json.loads(out.read_text())
    assert doc["schema"] == "camdrift.agreement/1"
    assert round(doc["fleiss_kappa"]["value"], 3) == 0.210
    assert round(doc["fleiss_kappa"]["p_bar"], 3) == 0.378
    assert round(doc["fleiss_kappa"]["p_e_bar"], 3) == 0.213
    assert len(doc["pairs"]) == 14 * 13 // 2 and len(doc["boundary_cases"]) == 3
    assert "Fleiss kappa        0.210" in res.stdout
    assert "Boundary cases" in res.stdout and "report written to" in res.stdout


def test_by_time_flags_the_drifting_annotator(tmp_path):
    codes, times = label_stream(seed=7, n_items=600, accuracy=[0.92, 0.92, 0.92], drift_at=300)
    names = ["ana", "ben", "cleo"]
    with (tmp_path / "labels.jsonl").open("w") as f:
        for i in range(600):
            for a in range(3):
                f.write(
                    json.dumps(
                        {
                            "item": f"p{i}",
                            "annotator": names[a],
                            "label": int(codes[i, a]),
                            "time": float(times[i, a]),
                        }
                    )
                    + "\n"
                )
    out = tmp_path / "r.json"
    res = camdrift("labels.jsonl", "--by-time", "--window", "50", "--out", out, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    flags = json.loads(out.read_text())["by_time"]["flags"]
    assert {f["annotator"] for f in flags} == {"cleo"} and min(f["window"] for f in flags) == 6
    assert "FLAG cleo: window 6 (items 301-350" in res.stdout
    assert "FLAG ana" not in res.stdout and "FLAG ben" not in res.stdout


def test_steady_stream_is_not_flagged(tmp_path):
    codes, times = label_stream(seed=1, n_items=300, accuracy=[0.9, 0.9, 0.9])
    rows = ["item,annotator,label,time"] + [
        f"p{i},{'abc'[a]},{codes[i, a]},{times[i, a]}" for i in range(300) for a in range(3)
    ]
    (tmp_path / "l.csv").write_text("\n".join(rows) + "\n")
    res = camdrift("l.csv", "--by-time", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "no annotator's agreement with the others dropped" in res.stdout and "FLAG" not in res.stdout


def test_coco_detection_end_to_end(tmp_path):
    imgs = [{"id": 1, "file_name": "weld1.png"}, {"id": 2, "file_name": "weld2.png"}]
    cats = [{"id": 3, "name": "crack"}]
    boxes = {
        "alice.json": [[0, 0, 10, 10], [40, 40, 10, 10]],
        "bruno.json": [[5, 0, 10, 10], [40, 40, 10, 10]],  # IoU 1/3 (no match at 0.5) and 1
    }
    for name, bbs in boxes.items():
        anns = [{"id": k, "image_id": 1, "category_id": 3, "bbox": bb} for k, bb in enumerate(bbs)]
        (tmp_path / name).write_text(json.dumps({"images": imgs, "annotations": anns, "categories": cats}))
    out = tmp_path / "r.json"
    res = camdrift("alice.json", "bruno.json", "--out", out, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    pair = json.loads(out.read_text())["detection"]["pairs"][0]
    assert (pair["a"], pair["b"], pair["n_items"], pair["matched"]) == ("alice", "bruno", 2, 1)
    assert pair["presence_agreement"] == pytest.approx(0.5) and pair["boundary_mean_iou"] == 1.0
    # A looser threshold matches the shifted box too.
    res = camdrift("alice.json", "bruno.json", "--iou", "0.3", "--out", out, cwd=tmp_path)
    pair = json.loads(out.read_text())["detection"]["pairs"][0]
    assert pair["matched"] == 2 and pair["boundary_mean_iou"] == pytest.approx((1 / 3 + 1) / 2)
    assert "boundary IoU" in res.stdout


def test_coco_classification_with_annotator_names(tmp_path):
    imgs = [{"id": i, "file_name": f"f{i}.png"} for i in range(4)]
    cats = [{"id": 1, "name": "ok"}, {"id": 2, "name": "ng"}]
    for n, labels in enumerate(([1, 1, 2, 2], [1, 2, 2, 2], [1, 1, 2, 1])):
        anns = [{"image_id": i, "category_id": c} for i, c in enumerate(labels)]
        (tmp_path / f"export{n}.json").write_text(
            json.dumps({"images": imgs, "annotations": anns, "categories": cats})
        )
    out = tmp_path / "r.json"
    res = camdrift(
        "export0.json",
        "export1.json",
        "export2.json",
        "--annotator-names",
        "ann,bo,cy",
        "--out",
        out,
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr
    doc = json.loads(out.read_text())
    assert doc["annotators"] == ["ann", "bo", "cy"] and doc["categories"] == ["ok", "ng"]
    assert [b["item"] for b in doc["boundary_cases"]] == ["f1.png", "f3.png"]
    assert doc["pairs"][0]["confusion"] == [[1, 1], [0, 2]]  # rows: ann, columns: bo; ok then ng


HEADER = "item,annotator,label\n"


@pytest.mark.parametrize(
    ("files", "args", "expect"),
    [
        ({"l.csv": HEADER + "a,x,1\na,y\n"}, [], "l.csv:3: expected 3 fields"),
        ({"l.csv": HEADER + "a,x,1\na,z,1\n"}, ["--annotators", "x,y"], "l.csv:3: unknown annotator 'z'"),
        ({"l.csv": HEADER + "a,x,1\na,y,1\na,x,2\n"}, [], "l.csv:4: annotator 'x' labelled item 'a' twice"),
        ({"l.csv": ""}, [], "l.csv: empty file"),
        ({"l.jsonl": '{"item": "a", "annotator": "x", "label": 1}\n{oops\n'}, [], "l.jsonl:2: bad JSON"),
        ({"a.json": "{", "b.json": "{}"}, [], "a.json: bad JSON"),
        ({"l.csv": HEADER + "a,x,1\na,y,1\n"}, ["--iou", "0"], "IoU threshold must be in (0, 1]"),
        (
            {"l.csv": "item,annotator,label,time\na,x,1,1\na,y,1,2\nb,x,1,\nb,y,2,\n"},
            ["--by-time"],
            "have no time",
        ),
        ({}, ["missing.csv"], "missing.csv: no such file"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(tmp_path, files, args, expect):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    res = camdrift(*files, *args, cwd=tmp_path)
    assert res.returncode == 2
    assert expect in res.stderr
    assert res.stderr.startswith("camdrift agreement: ") and "Traceback" not in res.stderr
    assert res.stdout == ""


def test_argument_errors_exit_2(tmp_path):
    res = camdrift("x.csv", "--window", "0", cwd=tmp_path)
    assert res.returncode == 2 and "--window" in res.stderr and "Traceback" not in res.stderr


def test_numeric_labels_compare_as_strings(tmp_path):
    # Labels that are numbers in JSON and in CSV compare equal (both read as strings).
    (tmp_path / "a.jsonl").write_text('{"item": "i", "annotator": "x", "label": 2}\n')
    (tmp_path / "b.jsonl").write_text('{"item": "i", "annotator": "y", "label": "2"}\n')
    out = tmp_path / "r.json"
    assert camdrift("a.jsonl", "b.jsonl", "--out", out, cwd=tmp_path).returncode == 0
    assert json.loads(out.read_text())["percent_agreement"] == 1.0
