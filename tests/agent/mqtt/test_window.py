"""The in-flight window of the sink: order, the bound on unacknowledged messages, and reconnects."""

from __future__ import annotations

import doctest

import pytest

import camdrift.agent.mqtt.window as window_module
from camdrift.agent.mqtt.outbox import OutboxRow
from camdrift.agent.mqtt.window import InflightWindow


def _row(i: int, qos: int = 1) -> OutboxRow:
    return OutboxRow(i, "t", b"", qos, False, "events" if qos else "metrics", 2 if qos else 0, 0.0, None)


def test_inflight_window_keeps_order_bounds_and_survives_reconnects() -> None:
    w = InflightWindow(size=3)
    rows = [_row(1), _row(2, qos=0), _row(3), _row(4), _row(5)]
    got = []
    for mid, row in enumerate(w.candidates(rows), start=100):
        if row.id == 3:
            w.passed(row)  # e.g. expired: moves the cursor, takes no room
            continue
        w.sent(mid, row)
        got.append(row.id)
    assert got == [1, 2, 4] and w.room == 0 and w.cursor == 4
    assert w.acked(999) is None  # not an outbox row
    w.connection_lost()  # the QoS 0 row is gone with the socket, the QoS 1 rows stay with paho
    assert len(w) == 2 and w.cursor == 0
    resent = []
    for mid, row in enumerate(w.candidates([r for r in rows if r.id != 3]), start=200):  # 3 was discarded
        w.sent(mid, row)
        resent.append(row.id)
    assert resent == [2] and w.room == 0  # 2 is resent by us; 1 and 4 are paho's to resend
    assert w.acked(100) == 1 and w.room == 1
    w.clear()
    assert len(w) == 0 and [r.id for r in w.candidates(rows[:3])] == [1, 2, 3]
    with pytest.raises(ValueError, match="window size"):
        InflightWindow(0)


def test_module_example_holds() -> None:
    assert doctest.testmod(window_module).failed == 0


def test_a_reconnect_resends_nothing_paho_still_holds_and_skips_nothing() -> None:
    """Three connections in a row; every row goes out once (unless paho lost it with a QoS 0 socket)."""
    w = InflightWindow(size=2)
    outbox = {i: _row(i) for i in range(1, 6)}
    handed: list[int] = []
    mids = iter(range(1, 100))

    def pump() -> dict[int, int]:
        sent = {}
        for row in w.candidates(sorted(outbox.values())):
            mid = next(mids)
            w.sent(mid, row)
            sent[mid] = row.id
            handed.append(row.id)
        return sent

    first = pump()  # rows 1, 2 in flight; the window is full
    assert sorted(first.values()) == [1, 2] and w.room == 0 and pump() == {}
    w.connection_lost()  # QoS 1: paho keeps 1 and 2 and resends them itself
    w.rescan()
    assert pump() == {}  # nothing new fits, nothing is handed over twice
    for mid, row_id in first.items():  # the new connection brings both PUBACKs
        assert w.acked(mid) == row_id
        del outbox[row_id]
    second = pump()
    assert sorted(second.values()) == [3, 4]
    mid3 = next(mid for mid, row_id in second.items() if row_id == 3)
    assert w.acked(mid3) == 3
    del outbox[3]
    w.rescan()  # another connection: the scan starts at the oldest row again, 4 is still with paho
    assert sorted(pump().values()) == [5]
    assert handed == [1, 2, 3, 4, 5]
    assert w.room == 0 and len(w) == 2


def test_window_size_is_the_bound_on_unacknowledged_rows() -> None:
    w = InflightWindow(size=1)
    rows = [_row(1), _row(2)]
    assert w.scan_limit == 1
    handed = []
    for row in w.candidates(rows):  # consumed as rows are handed over, as the sink does
        w.sent(7, row)
        handed.append(row.id)
    assert handed == [1] and w.room == 0 and list(w.candidates(rows)) == []
    assert w.scan_limit == 1  # the row in flight must be scanned past to find a new one
    with pytest.raises(ValueError, match="window size"):
        InflightWindow(-1)
