"""A durable, bounded outbox for MQTT messages: SQLite in WAL mode, in the state directory.

Every message is written here before it is published and deleted only when the broker acknowledges it, so
events survive broker outages, a ``kill -9`` of the agent and a power cut (delivery is at least once; the
``event_id`` in the payload makes duplicates harmless).

Durability: the database runs in WAL mode. A ``put`` of an event (or status/state) commits with
``synchronous=FULL``, which fsyncs the WAL on every commit: once ``put`` returns, the engine may treat the event
as handed over, so a power cut must not lose it. Metrics commit with ``synchronous=NORMAL`` (WAL still keeps
the file consistent; a power cut may lose the last few metrics, which are periodic and replaceable), and so
do acknowledgements: losing a deletion only means a duplicate after the power comes back.

Latest-value messages (the retained kinds, status and state) are kept as the single newest copy per topic: a
new one replaces the waiting one, and they are never evicted (at most one row per retained topic, so they cannot
grow the outbox). Bounds (``max_rows``, ``max_bytes`` of topic + stored payload; a payload is stored zlib-packed when that is
smaller and the payload has at least 256 bytes: about half an event and a fifth of a state message): when a ``put`` would exceed them, the
outbox evicts metrics first, then the oldest events (oldest first within a priority, never a row of higher
priority than the new message); if nothing may be evicted, a new metric or event is itself dropped, while a new
status or state is stored anyway (the bound is exceeded by at most one copy per retained topic). Drops are
never silent: they are counted per kind in the database (persisted) and reported in ``status``.

The file carries ``PRAGMA user_version``; a file written by a newer camdrift is refused with a clear error.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

FORMAT_VERSION = 2  # 2: status/state never evicted, payloads zlib-packed (``packed``); 1 is migrated on open
_PACK_LEVEL = 6  # zlib level: ~2x on events, ~5x on state messages, ~0.1 ms each
_PACK_MIN = 256  # bytes: smaller payloads are stored as they are (little to gain)
PRIORITY: dict[str, int] = {"metrics": 0, "snapshot": 0, "events": 1, "status": 2, "state": 2}
_DURABLE_KINDS = frozenset({"events", "status", "state"})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    qos INTEGER NOT NULL,
    retain INTEGER NOT NULL,
    kind TEXT NOT NULL,
    priority INTEGER NOT NULL,
    created REAL NOT NULL,
    expiry_s REAL,
    size INTEGER NOT NULL,
    packed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS outbox_victims ON outbox (priority, id);
CREATE INDEX IF NOT EXISTS outbox_retained ON outbox (topic) WHERE retain = 1;
CREATE TABLE IF NOT EXISTS dropped (kind TEXT PRIMARY KEY, n INTEGER NOT NULL);
"""


def _unpack(stored: bytes, packed: int) -> bytes:
    return zlib.decompress(stored) if packed else bytes(stored)


class OutboxError(RuntimeError):
    """The outbox file cannot be used (not SQLite, written by a newer camdrift, not writable)."""


class OutboxRow(NamedTuple):
    """One queued message. ``created`` is the Unix time (s) of the ``put``; ``expiry_s`` None = never."""

    id: int
    topic: str
    payload: bytes
    qos: int
    retain: bool
    kind: str
    priority: int
    created: float
    expiry_s: float | None


def _open(path: Path) -> sqlite3.Connection:
    """Open (or create) the outbox database in WAL mode, migrating a format-1 file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we issue BEGIN IMMEDIATE/COMMIT ourselves; check_same_thread=False because
        # the engine puts and the MQTT thread acks (serialised by self._lock).
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10.0)
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > FORMAT_VERSION:
            db.close()
            raise OutboxError(
                f"outbox {path} has format version {version}, this camdrift reads up to {FORMAT_VERSION}: "
                "it was written by a newer camdrift (upgrade, or move the file away to start empty)"
            )
        # 16 KiB pages for a new file (no effect on an existing one): 4 KiB pages hold only two packed events
        # (~1.6 kB each), wasting a fifth (10,000 events: 21 MB, not 17 MB). The WAL is checkpointed every
        # 256 pages (4 MiB) so it stays small while the outbox fills.
        db.execute("PRAGMA page_size = 16384")
        db.execute("PRAGMA wal_autocheckpoint = 256")
        mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode.lower() != "wal":
            db.close()
            raise OutboxError(
                f"outbox {path}: SQLite refused WAL mode (got {mode!r}); is it on a network FS?"
            )
        db.executescript(_SCHEMA)
        columns = {r[1] for r in db.execute("PRAGMA table_info(outbox)")}
        if "packed" not in columns:
            db.execute("ALTER TABLE outbox ADD COLUMN packed INTEGER NOT NULL DEFAULT 0")
        if version < FORMAT_VERSION:
            for kind, priority in PRIORITY.items():  # version 1 ranked events above status/state
                db.execute("UPDATE outbox SET priority = ? WHERE kind = ?", (priority, kind))
        db.execute(f"PRAGMA user_version = {FORMAT_VERSION}")
    except sqlite3.DatabaseError as exc:
        raise OutboxError(f"outbox {path} cannot be used: {exc}") from exc
    except OSError as exc:
        raise OutboxError(f"outbox {path} cannot be created: {exc}") from exc
    return db


class Outbox:
    """The durable queue between the engine and the MQTT client (thread-safe).

    >>> import tempfile, os
    >>> box = Outbox(os.path.join(tempfile.mkdtemp(), "outbox.sqlite"), max_rows=2, max_bytes=10_000)
    >>> box.put("p/c/metrics", b"m1", qos=0, retain=False, kind="metrics")
    1
    >>> box.put("p/c/events", b"e1", qos=1, retain=False, kind="events")
    2
    >>> box.put("p/c/events", b"e2", qos=1, retain=False, kind="events")  # full: the metric goes first
    3
    >>> [r.payload for r in box.peek_batch()], box.dropped
    ([b'e1', b'e2'], {'metrics': 1})
    >>> box.ack(2), box.pending
    (1, 1)
    """

    def __init__(
        self, path: str | os.PathLike[str], max_rows: int = 100_000, max_bytes: int = 64 * 2**20
    ) -> None:
        if max_rows < 1:
            raise ValueError(f"max_rows must be >= 1, got {max_rows}")
        if max_bytes < 1:
            raise ValueError(f"max_bytes must be >= 1, got {max_bytes}")
        self.path = Path(path)
        self.max_rows = max_rows
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._db = _open(self.path)
        self._sync = ""
        row = self._db.execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM outbox").fetchone()
        self._rows, self._bytes = int(row[0]), int(row[1])

    # -- writing --------------------------------------------------------------------------------------------

    def put(
        self,
        topic: str,
        payload: bytes,
        qos: int,
        retain: bool,
        kind: str,
        priority: int | None = None,
        expiry_s: float | None = None,
    ) -> int | None:
        """Queue one message durably; return its row id, or None if the full outbox dropped it.

        ``kind`` is the topic kind (``events``, ``status``, ``state``, ``metrics``); ``priority`` defaults to
        :data:`PRIORITY` of the kind (higher is kept longer); ``expiry_s`` is the message's lifetime in seconds
        from now (None: never expires). When ``retain`` is true, a waiting message on the same topic is replaced.
        """
        if qos not in (0, 1, 2):
            raise ValueError(f"qos must be 0, 1 or 2, got {qos!r}")
        if priority is None:
            if kind not in PRIORITY:
                raise ValueError(f"unknown kind {kind!r} and no priority given")
            priority = PRIORITY[kind]
        payload = bytes(payload)
        packed = zlib.compress(payload, _PACK_LEVEL) if len(payload) >= _PACK_MIN else payload
        is_packed = len(packed) < len(payload)
        stored = packed if is_packed else payload
        size = len(stored) + len(topic.encode("utf-8"))
        with self._lock:
            self._set_sync("FULL" if kind in _DURABLE_KINDS else "NORMAL")
            self._db.execute("BEGIN IMMEDIATE")
            try:
                if retain:
                    old = self._db.execute(
                        "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM outbox WHERE retain = 1 AND topic = ?",
                        (topic,),
                    ).fetchone()
                    self._db.execute("DELETE FROM outbox WHERE retain = 1 AND topic = ?", (topic,))
                    self._rows -= old[0]
                    self._bytes -= old[1]
                if not self._make_room(size, priority) and not (retain and size <= self.max_bytes):
                    self._count_drop(kind, 1)
                    self._db.execute("COMMIT")
                    return None
                cur = self._db.execute(
                    "INSERT INTO outbox (topic, payload, qos, retain, kind, priority, created, expiry_s, size, "
                    "packed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        topic,
                        stored,
                        qos,
                        int(bool(retain)),
                        kind,
                        priority,
                        time.time(),
                        expiry_s,
                        size,
                        int(is_packed),
                    ),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise
            self._rows += 1
            self._bytes += size
            return int(cur.lastrowid)

    def _make_room(self, size: int, priority: int) -> bool:
        """Delete victims (not retained, lowest priority, oldest) until ``size`` more bytes and one more row
        fit; False if they do not (what could go is gone)."""
        if size > self.max_bytes:
            return False
        while self._rows + 1 > self.max_rows or self._bytes + size > self.max_bytes:
            victim = self._db.execute(
                "SELECT id, kind, size FROM outbox WHERE retain = 0 AND priority <= ? "
                "ORDER BY priority, id LIMIT 1",
                (priority,),
            ).fetchone()
            if victim is None:
                return False
            self._db.execute("DELETE FROM outbox WHERE id = ?", (victim[0],))
            self._count_drop(victim[1], 1)
            self._rows -= 1
            self._bytes -= victim[2]
        return True

    def _count_drop(self, kind: str, n: int) -> None:
        self._db.execute(
            "INSERT INTO dropped (kind, n) VALUES (?, ?) ON CONFLICT(kind) DO UPDATE SET n = n + excluded.n",
            (kind, n),
        )

    def ack(self, *row_ids: int) -> int:
        """Delete acknowledged rows; return how many were still there (a row may have been dropped meanwhile)."""
        return self._delete(row_ids, reason=None)

    def discard(self, row_ids: Iterable[int], reason: str) -> int:
        """Delete rows that will never be delivered (``reason``: ``expired``, ``rejected``), counting them."""
        return self._delete(tuple(row_ids), reason=reason)

    def _delete(self, row_ids: tuple[int, ...], reason: str | None) -> int:
        if not row_ids:
            return 0
        with self._lock:
            self._set_sync("NORMAL")
            self._db.execute("BEGIN IMMEDIATE")
            try:
                gone = 0
                for row_id in row_ids:
                    row = self._db.execute(
                        "DELETE FROM outbox WHERE id = ? RETURNING size", (row_id,)
                    ).fetchone()
                    if row is not None:
                        gone += 1
                        self._rows -= 1
                        self._bytes -= row[0]
                if reason is not None and gone:
                    self._count_drop(reason, gone)
                self._db.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise
            return gone

    def _set_sync(self, level: str) -> None:
        # PRAGMA synchronous may change between transactions on one connection; skip it when already set.
        if self._sync != level:
            self._db.execute(f"PRAGMA synchronous = {level}")
            self._sync = level

    def _rollback(self) -> None:
        try:
            self._db.execute("ROLLBACK")
        except sqlite3.Error:
            pass
        row = self._db.execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM outbox").fetchone()
        self._rows, self._bytes = int(row[0]), int(row[1])

    # -- reading --------------------------------------------------------------------------------------------

    def peek_batch(self, limit: int = 100, after_id: int = 0) -> list[OutboxRow]:
        """Up to ``limit`` queued rows with ``id > after_id``, oldest first (nothing is removed)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, topic, payload, qos, retain, kind, priority, created, expiry_s, packed FROM outbox "
                "WHERE id > ? ORDER BY id LIMIT ?",
                (after_id, limit),
            ).fetchall()
        return [
            OutboxRow(r[0], r[1], _unpack(r[2], r[9]), r[3], bool(r[4]), r[5], r[6], r[7], r[8]) for r in rows
        ]

    def retained_topics(self) -> set[str]:
        """Topics with a latest-value (retained) message waiting."""
        with self._lock:
            return {r[0] for r in self._db.execute("SELECT DISTINCT topic FROM outbox WHERE retain = 1")}

    @property
    def pending(self) -> int:
        """Number of queued messages."""
        return self._rows

    @property
    def pending_bytes(self) -> int:
        """Bytes (topic + stored payload, zlib-packed when that is smaller) of queued messages, the quantity
        ``max_bytes`` bounds."""
        return self._bytes

    @property
    def dropped(self) -> dict[str, int]:
        """Messages dropped since the file was created, per kind (or ``expired``/``rejected``)."""
        with self._lock:
            return dict(self._db.execute("SELECT kind, n FROM dropped ORDER BY kind").fetchall())

    def close(self) -> None:
        """Checkpoint the WAL into the main file and close."""
        with self._lock:
            try:
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error:
                pass  # another connection may hold the WAL; it is checkpointed on the next open
            self._db.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
