"""The label records (records.py): the one error every reader raises reads ``path:line: field 'x': problem``,
and a LabelSet's label and time matrices put each label at its (item, annotator) cell."""

from __future__ import annotations

import numpy as np
import pytest

from camdrift.calibration.agreement.records import Annotation, LabelError, LabelSet


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (("bad value", "l.csv", 7, "time"), "l.csv:7: field 'time': bad value"),
        (("bad value", "l.csv", 7), "l.csv:7: bad value"),
        (("no labels found", "l.csv"), "l.csv: no labels found"),
        (("needs two annotators",), "needs two annotators"),
    ],
)
def test_label_error_names_where(args, text):
    err = LabelError(*args)
    assert str(err) == text and isinstance(err, ValueError)
    assert err.path == (args[1] if len(args) > 1 else None)
    assert err.line == (args[2] if len(args) > 2 else None)


def test_codes_and_times_place_each_label_and_mark_the_missing():
    rows = (
        Annotation("b", "y", "dent", 20.0, "l.csv:2"),
        Annotation("a", "x", "ok", None, "l.csv:3"),
        Annotation("a", "y", "ok", 10.0, "l.csv:4"),
    )
    ls = LabelSet("classification", ("x", "y"), ("a", "b"), ("ok", "dent"), annotations=rows)
    np.testing.assert_array_equal(ls.codes(), [[0, 0], [-1, 1]])
    np.testing.assert_array_equal(ls.times(), [[np.nan, 10.0], [np.nan, 20.0]])
    assert ls.codes().dtype == np.int64 and ls.boxes == () and ls.labelled == frozenset()
