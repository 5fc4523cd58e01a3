"""CSV and JSON-lines label files (flat.py): what a labelling tool's export may hold (a BOM, extra columns,
blank rows, ISO or POSIX times, numbers as labels), and rows that cannot be used named by file, line and field."""

from __future__ import annotations

import numpy as np
import pytest

from camdrift.calibration.agreement.flat import read_csv, read_jsonl
from camdrift.calibration.agreement.labels import LabelError, load_labels
from tests.calibration.agreement.test_labels import write


def test_csv_with_times_extra_columns_bom_and_blank_lines(tmp_path):
    p = write(
        tmp_path / "labels.csv",
        "\ufeffItem,annotator,label,time,comment\n"
        "img1,ann,scratch,2026-01-01T10:00:00,\n"
        "img1,bob,dent,2026-01-01T10:00:00+01:00,unsure\n"
        "\n"
        "img2,ann,ok,1767261600.5,\n"
        "img2,bob,ok,,\n",
    )
    ls = load_labels([p])
    assert ls.kind == "classification"
    assert ls.annotators == ("ann", "bob") and ls.items == ("img1", "img2")
    assert ls.categories == ("scratch", "dent", "ok")
    np.testing.assert_array_equal(ls.codes(), [[0, 1], [2, 2]])
    t = ls.times()
    assert t[0, 0] == 1767261600.0 and t[0, 1] == 1767261600.0 - 3600 and t[1, 0] == 1767261600.5
    assert np.isnan(t[1, 1])
    assert ls.annotations[2].source == f"{p}:5"


def test_jsonl_numbers_are_strings_and_several_files_concatenate(tmp_path):
    a = write(tmp_path / "a.jsonl", '{"item": 1, "annotator": "ann", "label": 3}\n\n')
    b = write(tmp_path / "b.jsonl", '{"item": "1", "annotator": "bob", "label": "3", "time": 5}\n')
    ls = load_labels([a, b])
    assert ls.items == ("1",) and ls.categories == ("3",)
    np.testing.assert_array_equal(ls.codes(), [[0, 0]])


def test_csv_rows_carry_their_source_line_and_times_in_posix_seconds(tmp_path):
    p = write(
        tmp_path / "t.csv",
        "label,annotator,item,time\nok,ann,a,2026-01-01T00:00:00Z\n\nbad,bob,a,1767225600\nok,cy,b,\n",
    )
    rows = read_csv(p)
    assert [(r.item, r.annotator, r.label) for r in rows] == [
        ("a", "ann", "ok"),
        ("a", "bob", "bad"),
        ("b", "cy", "ok"),
    ]
    assert rows[0].time == rows[1].time == 1767225600.0  # ISO with Z and POSIX seconds agree
    assert rows[2].time is None
    assert [r.source for r in rows] == [f"{p}:2", f"{p}:4", f"{p}:5"]


def test_jsonl_time_may_be_a_number_or_iso_and_a_naive_stamp_is_utc(tmp_path):
    p = write(
        tmp_path / "t.jsonl",
        '{"item": "a", "annotator": "x", "label": "ok", "time": 1.5}\n'
        '{"item": "a", "annotator": "y", "label": "ok", "time": "1970-01-01T00:00:10"}\n'
        '{"item": "b", "annotator": "x", "label": 2.0}\n',
    )
    rows = read_jsonl(p)
    assert [r.time for r in rows] == [1.5, 10.0, None]
    assert rows[2].label == "2.0" and rows[1].source == f"{p}:2"


@pytest.mark.parametrize(
    ("line", "expect"),
    [
        ('{"item": "a", "annotator": "x", "label": 1, "time": true}', "field 'time': .*got a boolean"),
        ('{"item": "a", "annotator": "x", "label": 1, "time": "NaN"}', "field 'time': time must be finite"),
        ('{"item": "a", "annotator": "x", "label": true}', "field 'label': expected a string or a number"),
        ('{"item": "", "annotator": "x", "label": 1}', "field 'item': empty value"),
    ],
)
def test_jsonl_bad_values_name_line_and_field(tmp_path, line, expect):
    p = write(tmp_path / "bad.jsonl", '{"item": "a", "annotator": "x", "label": 1}\n' + line + "\n")
    with pytest.raises(LabelError, match=expect) as err:
        read_jsonl(p)
    assert err.value.line == 2 and err.value.path == str(p)


def test_unreadable_files(tmp_path):
    latin = tmp_path / "latin.csv"
    latin.write_bytes("item,annotator,label\nb\xe9,x,1\n".encode("latin-1"))
    with pytest.raises(LabelError, match="not UTF-8 text"):
        read_csv(latin)
    with pytest.raises(LabelError, match="cannot read"):
        read_jsonl(tmp_path / "absent.jsonl")
