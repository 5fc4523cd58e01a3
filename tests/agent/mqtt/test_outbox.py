"""The durable outbox: order, acks, bounds with drop accounting, retained upsert, SIGKILL, versioning."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from camdrift.agent.mqtt.outbox import FORMAT_VERSION, Outbox, OutboxError

WRITER = Path(__file__).with_name("outbox_writer.py")


def _put(box: Outbox, kind: str, payload: bytes, topic: str | None = None) -> int | None:
    qos, retain = {"events": (1, False), "metrics": (0, False), "status": (1, True), "state": (1, True)}[kind]
    return box.put(topic or f"p/c/{kind}", payload, qos=qos, retain=retain, kind=kind)


def test_put_peek_ack_in_order_and_persisted(tmp_path: Path) -> None:
    path = tmp_path / "state" / "outbox.sqlite"
    with Outbox(path) as box:
        ids = [_put(box, "events", f"e{i}".encode()) for i in range(5)]
        assert ids == sorted(ids)
        assert [r.payload for r in box.peek_batch()] == [b"e0", b"e1", b"e2", b"e3", b"e4"]
        assert [r.payload for r in box.peek_batch(limit=2, after_id=ids[1])] == [b"e2", b"e3"]
        assert box.ack(ids[0], ids[2]) == 2
        assert box.ack(ids[0]) == 0  # acknowledging twice is harmless
        assert box.pending == 3
    with Outbox(path) as box:
        rows = box.peek_batch()
        assert [r.payload for r in rows] == [b"e1", b"e3", b"e4"]
        assert rows[0].qos == 1 and not rows[0].retain and rows[0].kind == "events"
        assert box.pending_bytes == sum(len(r.payload) + len(r.topic) for r in rows)
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == FORMAT_VERSION
    db.close()


def test_retained_kinds_keep_only_the_latest_per_topic(tmp_path: Path) -> None:
    with Outbox(tmp_path / "o.sqlite") as box:
        _put(box, "status", b"s1")
        _put(box, "events", b"e1")
        _put(box, "status", b"s2")
        _put(box, "state", b"t1")
        _put(box, "status", b"s3", topic="p/other/status")
        assert [r.payload for r in box.peek_batch()] == [b"e1", b"s2", b"t1", b"s3"]
        assert box.dropped == {}  # superseded retained messages are not losses


def test_full_outbox_drops_metrics_first_then_oldest_and_counts_it(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    with Outbox(path, max_rows=4) as box:
        _put(box, "metrics", b"m1")
        _put(box, "events", b"e1")
        _put(box, "metrics", b"m2")
        _put(box, "events", b"e2")
        _put(box, "events", b"e3")  # drops m1
        _put(box, "events", b"e4")  # drops m2
        assert [r.payload for r in box.peek_batch()] == [b"e1", b"e2", b"e3", b"e4"]
        assert _put(box, "metrics", b"m3") is None  # nothing below a metric to drop: the metric goes
        _put(box, "events", b"e5")  # only events left: the oldest goes
        assert [r.payload for r in box.peek_batch()] == [b"e2", b"e3", b"e4", b"e5"]
        assert box.dropped == {"events": 1, "metrics": 3}
    with Outbox(path, max_rows=4) as box:
        assert box.dropped == {"events": 1, "metrics": 3}  # persisted


def test_full_outbox_never_evicts_status_or_state_metrics_go_first_then_oldest_events(tmp_path: Path) -> None:
    with Outbox(tmp_path / "o.sqlite", max_rows=4) as box:
        _put(box, "state", b"t1")
        _put(box, "status", b"s1")
        _put(box, "metrics", b"m1")
        _put(box, "events", b"e1")
        _put(box, "events", b"e2")  # full: the metric goes, not the state or status
        assert [r.payload for r in box.peek_batch()] == [b"t1", b"s1", b"e1", b"e2"]
        _put(box, "events", b"e3")  # then the oldest event
        assert [r.payload for r in box.peek_batch()] == [b"t1", b"s1", b"e2", b"e3"]
        assert _put(box, "metrics", b"m2") is None  # a metric may evict only metrics
        _put(box, "state", b"t2")  # the newest state replaces its waiting copy, in the same room
        _put(box, "status", b"s2")
        assert [r.payload for r in box.peek_batch()] == [b"e2", b"e3", b"t2", b"s2"]
        assert box.dropped == {"events": 1, "metrics": 2}
    with Outbox(tmp_path / "p.sqlite", max_rows=2) as box:
        _put(box, "state", b"t1")
        _put(box, "status", b"s1")
        _put(box, "events", b"e1")  # nothing evictable: the event is dropped, the latest values stay
        assert [r.payload for r in box.peek_batch()] == [b"t1", b"s1"]
        assert _put(box, "state", b"t2") is not None  # a newer state is always kept
        assert [r.payload for r in box.peek_batch()] == [b"s1", b"t2"] and box.dropped == {"events": 1}


def test_a_version_1_file_is_migrated_to_the_new_eviction_order(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    with Outbox(path) as box:
        _put(box, "events", b"e1")
        _put(box, "state", b"t1")
    db = sqlite3.connect(path)  # what camdrift with format 1 wrote: events ranked 2, state 1
    db.execute("UPDATE outbox SET priority = CASE kind WHEN 'events' THEN 2 ELSE 1 END")
    db.execute("ALTER TABLE outbox DROP COLUMN packed")  # format 1 stored every payload as it was
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    with Outbox(path, max_rows=2) as box:
        _put(box, "events", b"e2")  # full: the old event goes (oldest event), never the state
        assert [r.payload for r in box.peek_batch()] == [b"t1", b"e2"]
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == FORMAT_VERSION
    db.close()


def test_large_payloads_are_stored_packed_and_read_back_unchanged(tmp_path: Path) -> None:
    payload = json.dumps({"numbers": {f"z.stat{i}": i / 7 for i in range(60)}}).encode()
    with Outbox(tmp_path / "o.sqlite") as box:
        _put(box, "events", payload)
        _put(box, "state", payload)
        assert [r.payload for r in box.peek_batch()] == [payload, payload]
        assert box.pending_bytes < len(payload)  # both copies together take less than one unpacked


def test_byte_bound_and_oversized_messages(tmp_path: Path) -> None:
    with Outbox(tmp_path / "o.sqlite", max_bytes=100) as box:
        for i in range(4):
            _put(box, "events", bytes(20) + bytes([i]), topic="t")  # 22 bytes each
        assert box.pending == 4
        _put(box, "events", bytes(30), topic="t")  # 31 bytes: 88 + 31 > 100, the oldest goes
        assert box.pending == 4 and box.pending_bytes == 3 * 22 + 31
        assert [r.payload[-1] for r in box.peek_batch()] == [1, 2, 3, 0]
        assert _put(box, "events", bytes(200), topic="t") is None  # can never fit: dropped, nothing evicted
        assert box.dropped == {"events": 2} and box.pending == 4


def test_discard_counts_expired_and_rejected(tmp_path: Path) -> None:
    with Outbox(tmp_path / "o.sqlite") as box:
        a = _put(box, "metrics", b"m")
        b = _put(box, "events", b"e")
        assert box.discard([a], "expired") == 1
        assert box.discard([b, 999], "rejected") == 1
        assert box.dropped == {"expired": 1, "rejected": 1} and box.pending == 0


@settings(max_examples=40, deadline=None)
@given(
    ops=st.lists(st.tuples(st.sampled_from(["events", "metrics", "ack"]), st.integers(1, 40)), max_size=60)
)
def test_bounds_and_accounting_hold_for_any_sequence(tmp_path_factory: pytest.TempPathFactory, ops) -> None:
    with Outbox(tmp_path_factory.mktemp("h") / "o.sqlite", max_rows=8, max_bytes=200) as box:
        put = {"events": 0, "metrics": 0}
        acked = {"events": 0, "metrics": 0}
        for op, size in ops:
            if op == "ack":
                rows = box.peek_batch(limit=1)
                if rows:
                    acked[rows[0].kind] += box.ack(rows[0].id)
                continue
            events_dropped = box.dropped.get("events", 0)
            row = _put(box, op, bytes(size), topic="t")
            put[op] += 1
            if box.dropped.get("events", 0) > events_dropped:  # an event went only once no metric was left
                assert not any(r.kind == "metrics" for r in box.peek_batch(limit=100))
            assert row is None or box.peek_batch(limit=100)[-1].id == row
            assert box.pending <= 8 and box.pending_bytes <= 200
        rows = box.peek_batch(limit=100)
        assert [r.id for r in rows] == sorted(r.id for r in rows)
        assert box.pending == len(rows) and box.pending_bytes == sum(len(r.payload) + 1 for r in rows)
        dropped = box.dropped
        for kind in ("events", "metrics"):  # every message is queued, acknowledged or counted as dropped
            assert put[kind] == sum(r.kind == kind for r in rows) + acked[kind] + dropped.get(kind, 0)


def test_rows_committed_before_a_sigkill_survive(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    proc = subprocess.Popen([sys.executable, str(WRITER), str(path)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    reported: list[tuple[int, str]] = []
    deadline = time.monotonic() + 10
    while len(reported) < 150 and time.monotonic() < deadline:
        row, payload = proc.stdout.readline().split()
        reported.append((int(row), payload))
    os.kill(proc.pid, signal.SIGKILL)  # mid-write: no close, no checkpoint
    proc.wait(timeout=5)
    assert len(reported) == 150
    with Outbox(path) as box:
        kept = {r.id: r.payload.decode() for r in box.peek_batch(limit=100_000)}
    acked = {row - 1 for i, (row, _) in enumerate(reported, 1) if i % 5 == 0}
    for row, payload in reported:
        if row not in acked:
            assert kept.get(row) == payload, f"row {row} ({payload}) was reported committed but is gone"


def test_files_from_a_newer_camdrift_or_not_sqlite_are_refused_clearly(tmp_path: Path) -> None:
    newer = tmp_path / "newer.sqlite"
    db = sqlite3.connect(newer)
    db.execute(f"PRAGMA user_version = {FORMAT_VERSION + 1}")
    db.close()
    with pytest.raises(
        OutboxError, match=rf"newer\.sqlite has format version {FORMAT_VERSION + 1}.*newer camdrift"
    ):
        Outbox(newer)
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(OutboxError, match=r"junk\.sqlite cannot be used"):
        Outbox(junk)
    with pytest.raises(ValueError, match="max_rows"):
        Outbox(tmp_path / "x.sqlite", max_rows=0)
