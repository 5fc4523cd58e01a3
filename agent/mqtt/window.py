"""The in-flight window: which outbox rows paho holds unacknowledged, and which rows go out next.

Used by the sink's connection thread only (not thread-safe). Rows go out in id order; ``cursor`` is the last
row handed over or passed. After a reconnect the scan starts again from the oldest row, skipping rows paho
still holds (it resends those itself), so nothing is published twice by us and nothing is skipped.

>>> from camdrift.agent.mqtt.outbox import OutboxRow
>>> w = InflightWindow(size=2)
>>> rows = [OutboxRow(i, "t", b"", 1, False, "events", 2, 0.0, None) for i in (1, 2, 3)]
>>> for mid, row in enumerate(w.candidates(rows), start=7):
...     w.sent(mid, row)
>>> w.room, w.cursor
(0, 2)
>>> w.acked(7), w.room
(1, 1)
>>> w.rescan()  # a new connection: scan the outbox (row 1 was acknowledged, so deleted) from the start
>>> [r.id for r in w.candidates(rows[1:])]  # row 2 is still with paho, which resends it itself
[3]
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from camdrift.agent.mqtt.outbox import OutboxRow


class InflightWindow:
    """At most ``size`` rows handed to paho and not yet acknowledged (PUBACK, or written for QoS 0)."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"window size must be >= 1, got {size}")
        self.size = size
        self.cursor = 0
        self._by_mid: dict[int, tuple[int, int]] = {}  # paho mid -> (row id, qos)
        self._rows: set[int] = set()

    def __len__(self) -> int:
        return len(self._by_mid)

    @property
    def room(self) -> int:
        """How many more rows may be handed over now."""
        return self.size - len(self._by_mid)

    @property
    def scan_limit(self) -> int:
        """How many rows after the cursor to read so that ``room`` new ones are among them."""
        return self.room + len(self._rows)

    def candidates(self, rows: Iterable[OutboxRow]) -> Iterator[OutboxRow]:
        """The rows (id order) not yet handed over, at most ``room`` of them; rows in flight are passed."""
        for row in rows:
            if self.room <= 0:
                return
            if row.id in self._rows:
                self.cursor = max(self.cursor, row.id)
                continue
            yield row

    def sent(self, mid: int, row: OutboxRow) -> None:
        """``row`` was handed to paho as message ``mid``."""
        self._by_mid[mid] = (row.id, row.qos)
        self._rows.add(row.id)
        self.cursor = max(self.cursor, row.id)

    def passed(self, row: OutboxRow) -> None:
        """``row`` will not be sent (expired): move past it."""
        self.cursor = max(self.cursor, row.id)

    def acked(self, mid: int) -> int | None:
        """Message ``mid`` is done; returns its row id (None: not an outbox row, e.g. availability)."""
        entry = self._by_mid.pop(mid, None)
        if entry is None:
            return None
        self._rows.discard(entry[0])
        return entry[0]

    def rescan(self) -> None:
        """Start the next scan from the oldest row (after a new connection)."""
        self.cursor = 0

    def connection_lost(self) -> None:
        """QoS 0 messages paho had not written are gone with the socket: forget them; rescan from the start.

        QoS 1 messages stay: paho keeps them and resends them on the next connection.
        """
        for mid, (row_id, qos) in list(self._by_mid.items()):
            if qos == 0:
                del self._by_mid[mid]
                self._rows.discard(row_id)
        self.cursor = 0

    def clear(self) -> None:
        """Forget everything (the paho client was dropped with its queue): every row is sent again."""
        self._by_mid.clear()
        self._rows.clear()
        self.cursor = 0
