"""Fuzzing the label readers of ``camdrift agreement``: CSV, JSON lines, COCO and Label Studio files with hostile values (times
of 400 digits, ids given as lists, boxes of 1e308 px, odd encodings, deep JSON). Every outcome is a LabelSet whose
times and boxes are finite, or one LabelError line naming the file: no other exception, no hang."""

from __future__ import annotations

import json
import math

from hypothesis import given
from hypothesis import strategies as st

from camdrift.calibration.agreement.labels import LabelError, LabelSet, load_labels
from tests.fuzz.support import CASES, assert_one_line, fuzz_settings, no_hang, scratch

HOSTILE = [
    "1" * 400,
    "-" + "9" * 400,
    "1e400",
    "nan",
    "inf",
    "2024-13-01",
    "2024-01-01T00:00:00",
    "0",
    "",
    " ",
    "\u00e9",
    "\x00",
    "a,b",
    '"',
]
json_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**400), 10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e308, -1e308, 5e-324]),
    st.text(max_size=6),
    st.sampled_from(HOSTILE),
)
json_value = st.recursive(
    json_scalar,
    lambda v: st.lists(v, max_size=3) | st.dictionaries(st.text(max_size=3), v, max_size=3),
    max_leaves=6,
)
cell = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=6), st.sampled_from(["a", "b", "cat", "1", "2"]))


@st.composite
def csv_file(draw: st.DrawFn) -> bytes:
    header = draw(st.sampled_from(["item,annotator,label,time", "item,annotator,label", "item,label", ""]))
    rows = [header]
    for _ in range(draw(st.integers(0, 8))):
        rows.append(",".join(draw(st.lists(cell, min_size=2, max_size=5))))
    return "\n".join(rows).encode(draw(st.sampled_from(["utf-8", "utf-8-sig", "latin-1"])), errors="replace")


@st.composite
def jsonl_file(draw: st.DrawFn) -> bytes:
    lines = []
    for _ in range(draw(st.integers(0, 8))):
        obj = {k: draw(st.sampled_from(["a", "b", "c"]) | json_value) for k in ("item", "annotator", "label")}
        if draw(st.booleans()):
            obj["time"] = draw(json_value)
        lines.append(json.dumps(obj) if draw(st.integers(0, 9)) else draw(st.text(max_size=20)))
    return "\n".join(lines).encode()


@st.composite
def coco_file(draw: st.DrawFn) -> bytes:
    ident = st.integers(0, 3) | json_value
    images = [{"id": draw(ident), "file_name": draw(st.sampled_from(["a.png", "b.png", ""]) | json_value)}
              for _ in range(draw(st.integers(0, 3)))]  # fmt: skip
    bbox = st.lists(
        st.sampled_from([0, 1, 10, 1e308, -1e308, 1e7, 1e7 + 1]) | json_scalar, min_size=0, max_size=5
    )
    anns = []
    for _ in range(draw(st.integers(0, 4))):
        a = {"image_id": draw(ident), "category_id": draw(ident)}
        if draw(st.booleans()):
            a["bbox"] = draw(bbox)
        anns.append(a)
    cats = [
        {"id": draw(ident), "name": draw(st.text(max_size=4) | json_value)}
        for _ in range(draw(st.integers(0, 2)))
    ]
    doc: object = {"images": images, "annotations": anns, "categories": cats}
    if not draw(st.integers(0, 19)):
        doc = draw(json_value)
    if not draw(st.integers(0, 49)):
        return b"[" * 100_000 + b"]" * 100_000
    return json.dumps(doc).encode()


def mostly(sane: st.SearchStrategy, hostile: st.SearchStrategy, one_in: int = 25) -> st.SearchStrategy:
    """``sane`` values with a hostile one about once in ``one_in`` draws (so that whole files get through)."""
    return st.integers(0, one_in - 1).flatmap(lambda n: hostile if n == one_in // 2 else sane)


def rarely(draw: st.DrawFn, one_in: int) -> bool:
    return draw(st.integers(0, one_in - 1)) == one_in // 2


@st.composite
def studio_result(draw: st.DrawFn) -> dict:
    """A ``choices`` or ``rectanglelabels`` result (percent of a sometimes hostile original size)."""
    number = mostly(
        st.floats(0, 100) | st.integers(0, 100), st.sampled_from([-1, 1e308, -1e308, 1e4]) | json_scalar
    )
    if draw(st.booleans()):
        choices = mostly(st.lists(st.sampled_from(["ok", "ng"]), min_size=1, max_size=1), json_value)
        return {"type": "choices", "value": {"choices": draw(choices)}}
    value = {k: draw(number) for k in ("x", "y", "width", "height") if not rarely(draw, 20)}
    labels = mostly(st.lists(st.sampled_from(["scratch", "dent"]), min_size=1, max_size=1), json_value)
    value["rectanglelabels"] = draw(labels)
    if rarely(draw, 4):
        value["rotation"] = draw(number)
    kind = mostly(st.just("rectanglelabels"), st.sampled_from(["polygonlabels", "textarea"]) | json_scalar)
    r = {"type": draw(kind), "value": value}
    for k in ("original_width", "original_height"):
        if not rarely(draw, 20):
            r[k] = draw(
                mostly(st.sampled_from([640, 1280, 2448]), st.sampled_from([0, -5, 1e7 + 1]) | number)
            )
    return r


@st.composite
def label_studio_file(draw: st.DrawFn) -> bytes:
    """A Label Studio JSON export: tasks with annotations by users (ids or user objects), cancelled flags,
    choices or rectanglelabels results, predictions; now and then a hostile value anywhere."""
    user = st.integers(0, 3) | st.fixed_dictionaries(
        {"id": st.integers(0, 3), "email": st.sampled_from(["a@x", ""])}
    )
    image = mostly(
        st.sampled_from(["/data/upload/1/a.jpg", "/data/local-files/?d=x/b.jpg"]),
        st.sampled_from(["", "/", "?d="]) | json_value,
    )
    stamp = mostly(st.sampled_from(["2024-05-01T10:00:00Z", None]), st.just("2024-13-01") | json_scalar)
    tasks = []
    for _ in range(draw(st.integers(1, 4))):
        data = {"image": draw(image)}
        if draw(st.booleans()):
            data["item"] = draw(mostly(st.sampled_from(["a.jpg", "b.jpg"]), json_value))
        anns = [
            {
                "id": k,
                "completed_by": draw(
                    mostly(st.just(k) | st.just({"id": k, "email": f"u{k}@x"}), user | json_value)
                ),
                "was_cancelled": rarely(draw, 4),
                "created_at": draw(stamp),
                "result": draw(st.lists(studio_result(), min_size=1, max_size=2)),
            }
            for k in range(draw(st.integers(1, 3)))
        ]
        task: dict = {"id": draw(mostly(st.integers(0, 9), json_value)), "data": data, "annotations": anns}
        if draw(st.booleans()):
            task["predictions"] = [{"model_version": draw(json_scalar), "result": [draw(studio_result())]}]
        tasks.append(draw(json_value) if rarely(draw, 20) else task)
    doc: object = draw(json_value) if rarely(draw, 20) else tasks
    if rarely(draw, 50):
        return b"[" * 100_000 + b"]" * 100_000
    return json.dumps(doc).encode()


def _check(paths: list[str], include_predictions: bool = False) -> None:
    try:
        with no_hang():
            labels = load_labels(paths, include_predictions=include_predictions)
    except LabelError as exc:
        assert_one_line(str(exc), *paths, "annotator", "labels found", "format")
        return
    assert isinstance(labels, LabelSet)
    for a in labels.annotations:
        assert a.time is None or math.isfinite(a.time)
    for b in labels.boxes:
        assert all(math.isfinite(v) and abs(v) <= 1e7 for v in (b.x, b.y, b.w, b.h))


@fuzz_settings(CASES // 3 + 1)
@given(csv_file(), csv_file())
def test_csv_labels(a: bytes, b: bytes) -> None:
    _check([str(scratch("a.csv", a)), str(scratch("b.csv", b))])


@fuzz_settings(CASES // 3 + 1)
@given(jsonl_file())
def test_jsonl_labels(a: bytes) -> None:
    _check([str(scratch("a.jsonl", a))])


@fuzz_settings(CASES // 3 + 1)
@given(coco_file(), coco_file())
def test_coco_labels(a: bytes, b: bytes) -> None:
    _check([str(scratch("alice.json", a)), str(scratch("bruno.json", b))])


@fuzz_settings(CASES // 3 + 1)
@given(label_studio_file(), st.booleans())
def test_label_studio_labels(a: bytes, predictions: bool) -> None:
    _check([str(scratch("project.json", a))], include_predictions=predictions)
