"""``camdrift watch``: what the cameras' agents say on the broker, for people on the plant floor.

Subscribes ``<prefix>/+/+`` (``--prefix`` may hold ``+`` levels; the default ``camdrift/+`` covers every site)
and keeps one row per camera, within 120 columns: availability, the overall verdict, the open episode's top
cause in plain words, for how long, its id, and the statistics that drift (all from the retained ``state``).
``--camera`` shows one camera in detail: every statistic with its score as a multiple of its threshold, the
last event and the baseline age. On a terminal the table is redrawn in place
(plain ANSI, no curses); ``--json`` prints every message as one JSON line instead, for piping::

    camdrift watch --host mqtt.plant.local
    camdrift watch --host 10.0.0.5 --port 8883 --tls-ca /etc/camdrift/ca.crt --username dash \\
        --password-file /etc/camdrift/watch.pw --prefix camdrift/plant-1 --camera line3-top
    camdrift watch --host localhost --json --duration 60 | jq .
"""

from __future__ import annotations

import argparse
import json
import queue
import sys
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

import paho.mqtt.client as mqtt

from camdrift.agent.drift.words import cause_words
from camdrift.agent.mqtt.settings import MqttConfigError, MqttSettings, read_secret
from camdrift.agent.mqtt.tls import build_ssl_context, describe_connect_error
from camdrift.agent.mqtt.topics import parse_topic, subscription, validate_camera_id, validate_prefix

_CLEAR = "\x1b[H\x1b[2J"
WIDTH = 120  # a terminal's columns the table keeps to
OVERVIEW = ("CAMERA", "AVAILABILITY", "VERDICT", "CAUSE", "FOR", "EPISODE", "DRIFTING")
_SHRINK = (0, 3, 6)  # CAMERA, CAUSE and DRIFTING give up characters to fit


@dataclass
class CameraRow:
    """What is known about one camera; ``*_at`` are local monotonic times (s) of reception."""

    name: str
    availability: str = "?"
    state: dict[str, Any] = field(default_factory=dict)
    status: dict[str, Any] = field(default_factory=dict)
    status_at: float = 0.0
    last_event: dict[str, Any] | None = None
    last_event_at: float = 0.0
    seen_at: float = 0.0


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = max(0.0, seconds)
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("m", 60.0)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.0f}s"


class Board:
    """The table: ``update()`` with each received message, ``render()`` to text."""

    def __init__(self, prefix: str) -> None:
        self.prefix = validate_prefix(prefix, allow_wildcards=True)
        self._fixed = self.prefix.split("/")
        self.rows: dict[str, CameraRow] = {}

    def name(self, root: str, camera: str) -> str:
        """The camera as shown: its id, preceded by the levels the prefix's ``+`` matched (e.g. the site)."""
        wild = [got for got, want in zip(root.split("/"), self._fixed, strict=True) if want == "+"]
        return "/".join([*wild, camera])

    def update(self, topic: str, payload: bytes, now: float) -> dict[str, Any] | None:
        """Take one message; returns its JSON-lines record, or None if the topic is not a camdrift topic."""
        parsed = parse_topic(self.prefix, topic)
        if parsed is None:
            return None
        root, camera, kind = parsed
        name = self.name(root, camera)
        row = self.rows.setdefault(name, CameraRow(name))
        row.seen_at = now
        doc: Any
        if kind == "availability":
            doc = payload.decode("utf-8", "replace")
            row.availability = doc
        elif kind == "snapshot":  # the episode's JPEG: its size, not its bytes
            doc = {"content_type": "image/jpeg", "bytes": len(payload)}
        else:
            try:
                doc = json.loads(payload)
            except ValueError:
                return {"topic": topic, "camera": name, "kind": kind, "error": "payload is not JSON"}
            if not isinstance(doc, dict):
                return {"topic": topic, "camera": name, "kind": kind, "error": "payload is not a JSON object"}
            if kind == "state":
                row.state = doc
            elif kind == "status":
                row.status, row.status_at = doc, now
            elif kind == "events":
                row.last_event, row.last_event_at = doc, now
        return {"topic": topic, "camera": name, "kind": kind, "payload": doc}

    def render(self, now: float, width: int = WIDTH) -> str:
        """One row per camera, at most ``width`` columns: availability, overall verdict, the open episode's
        top cause in plain words, for how long (stream time), its id, and only the statistics that drift."""
        rows = [_overview(self.rows[name]) for name in sorted(self.rows)]
        text = _table(OVERVIEW, rows, width, _SHRINK)
        if not self.rows:
            text += "\n(no camdrift agent has published under this prefix yet)"
        return text + "\n"

    def render_camera(self, name: str, now: float, width: int = WIDTH) -> str:
        """The detail of one camera: its row, then every statistic (verdict, score as a multiple of its drift
        threshold, since when), the last event and the baseline age."""
        row = self.rows.get(name)
        if row is None:
            return f"(camera {name} has not published under this prefix yet)\n"
        lines = _table(OVERVIEW, [_overview(row)], width, _SHRINK).splitlines()
        groups = row.state.get("groups") or {}
        detail = [
            (g, str(v.get("verdict", "?")), _ratio(v), _since(v.get("since"), row.state.get("stream_time")))
            for g, v in sorted(groups.items(), key=lambda kv: (kv[1].get("verdict") != "drift", kv[0]))
            if isinstance(v, dict)
        ]
        if detail:
            lines += ["", _table(("STATISTIC", "VERDICT", "SCORE/THRESHOLD", "FOR"), detail, width, (0,))]
        event = "-"
        if row.last_event is not None:
            e = row.last_event
            event = f"{e.get('kind', '?')} {e.get('group') or ''} ({_age(now - row.last_event_at)} ago)"
            event = f"{event}: {e.get('summary', '')}"
        baseline_age = row.status.get("baseline_age_s")
        age = _age(None if baseline_age is None else baseline_age + now - row.status_at)
        lines += [
            "",
            _clip(f"last event: {event}", width),
            f"baseline age: {age}; seen {_age(now - row.seen_at)} ago",
        ]
        return "\n".join(lines) + "\n"


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def _since(since: Any, now: Any) -> str:
    """How long a verdict has held, in stream time (the frames' clock: right on replays as well)."""
    if not isinstance(since, int | float) or not isinstance(now, int | float):
        return "-"
    return _age(now - since)


def _ratio(group: dict[str, Any]) -> str:
    score, threshold = group.get("score"), group.get("threshold")
    if not isinstance(score, int | float) or not isinstance(threshold, int | float) or threshold <= 0:
        return "-"
    return f"{score / threshold:.2f}x"


def _overview(row: CameraRow) -> tuple[str, ...]:
    state = row.state
    groups = {g: v for g, v in (state.get("groups") or {}).items() if isinstance(v, dict)}
    drifting = [g for g, v in sorted(groups.items()) if v.get("verdict") == "drift"]
    episode = state.get("episode") if isinstance(state.get("episode"), dict) else None
    cause = since = ident = "-"
    if episode is not None:
        # the cause in plain words first, then the event's own account of it (cut to fit)
        code, summary = episode.get("cause"), str(episode.get("summary") or "").split(";")[0]
        cause = f"{cause_words(code)}: {summary}" if code and summary else (summary or cause_words(code))
        cause = "not named yet" if cause == "-" else cause
        since = _since(episode.get("since"), state.get("stream_time"))
        ident = str(episode.get("id") or "-") + (" (ack)" if episode.get("acknowledged") is True else "")
    verdict = str(state.get("overall", "-")) if state else "-"
    return (
        row.name,
        row.availability,
        verdict.upper() if verdict == "drift" else verdict,
        cause,
        since,
        ident,
        ", ".join(drifting) or "-",
    )


def _table(
    header: tuple[str, ...], rows: list[tuple[str, ...]], width: int, flexible: tuple[int, ...]
) -> str:
    """Columns two spaces apart within ``width``: while too wide, the widest of the ``flexible`` columns gives
    up a character (never below its header or 8), its cells cut with an ellipsis."""
    lines = [header, *rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    floors = {i: max(len(header[i]), 8) for i in flexible}
    excess = sum(widths) + 2 * (len(widths) - 1) - width
    while excess > 0:
        shrinkable = [i for i in flexible if widths[i] > floors[i]]
        if not shrinkable:
            break
        widths[max(shrinkable, key=lambda i: widths[i])] -= 1
        excess -= 1

    def cut(i: int, cell: str, w: int) -> str:  # camera names differ at their end (line-07, line-08)
        return _clip_middle(cell, w) if i == 0 else _clip(cell, w)

    return "\n".join(
        "  ".join(cut(i, c, w).ljust(w) for i, (c, w) in enumerate(zip(line, widths, strict=True))).rstrip()[
            :width
        ]
        for line in lines
    )


def _clip_middle(text: str, width: int) -> str:
    """``text`` cut in its middle to ``width`` (its start and end kept)."""
    if len(text) <= width:
        return text
    head = (width - 1 + 1) // 2
    return text[:head] + "…" + text[len(text) - (width - 1 - head) :]


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "watch",
        help="show the cameras' availability and drift state from the MQTT broker",
        description="Live table of cameras (availability, verdict, top cause, for how long, episode, the "
        "statistics that drift) from the MQTT broker; --camera X for one camera's detail; JSON lines with --json.",
    )
    p.add_argument("--host", required=True, help="MQTT broker host name or address")
    p.add_argument("--port", type=int, default=None, help="broker port (default 1883, or 8883 with --tls-ca)")
    p.add_argument(
        "--prefix", default="camdrift/+", help="topic prefix; '+' levels allowed (default camdrift/+)"
    )
    p.add_argument("--camera", default=None, help="show this camera id in detail (every statistic)")
    p.add_argument("--json", action="store_true", help="print every message as one JSON line")
    p.add_argument("--once", action="store_true", help="collect the retained messages, print once, exit")
    p.add_argument("--duration", type=float, default=None, help="exit after this many seconds")
    p.add_argument("--username", default=None)
    p.add_argument(
        "--password-file", default=None, help="file holding the password (never on the command line)"
    )
    p.add_argument(
        "--tls-ca", default=None, help="CA file: connect with TLS and verify the broker's certificate"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    try:
        prefix = validate_prefix(args.prefix, allow_wildcards=True)
        if args.camera is not None:
            validate_camera_id(args.camera)
        if args.duration is not None and args.duration <= 0:
            raise ValueError(f"--duration must be > 0, got {args.duration}")
        settings = MqttSettings(host=args.host, port=args.port, tls_ca=args.tls_ca, username=args.username)
        password = read_secret(args.password_file, None, "--password-file")
        client = _client(settings, password)
    except (ValueError, MqttConfigError) as exc:
        print(f"camdrift watch: {exc}", file=sys.stderr)
        return 2
    inbox: queue.Queue[tuple[str, bytes] | str] = queue.Queue()
    wanted = f"{prefix}/{args.camera}/+" if args.camera else subscription(prefix)

    def on_connect(c: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        if reason_code.is_failure:
            inbox.put(f"MQTT broker {settings.address} refused the connection: {reason_code}")
        else:
            c.subscribe(wanted, qos=1)

    client.on_connect = on_connect
    client.on_message = lambda c, u, msg: inbox.put((msg.topic, msg.payload))
    try:
        client.connect(settings.host, settings.broker_port, keepalive=30)
    except (OSError, ValueError) as exc:
        print(f"camdrift watch: {describe_connect_error(exc, settings)}", file=sys.stderr)
        return 1
    client.loop_start()
    try:
        return _show(args, Board(prefix), inbox, out)
    except KeyboardInterrupt:
        return 0
    finally:
        client.disconnect()
        client.loop_stop()


def _client(settings: MqttSettings, password: str | None) -> mqtt.Client:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    if settings.username:
        client.username_pw_set(settings.username, password)
    if settings.use_tls:
        client.tls_set_context(build_ssl_context(settings))
    return client


def _render(board: Board, args: argparse.Namespace, now: float) -> str:
    """The overview, or with ``--camera`` that camera's detail (the only one subscribed)."""
    if args.camera is None:
        return board.render(now)
    names = sorted(board.rows)
    return board.render_camera(names[0], now) if names else board.render(now)


def _show(args: argparse.Namespace, board: Board, inbox: queue.Queue, out: TextIO) -> int:
    live_table = not args.json and not args.once and out.isatty()
    start = time.monotonic()
    hard_end = start + args.duration if args.duration is not None else float("inf")
    last_message: float | None = None
    drawn = 0.0
    dirty = True
    while True:
        now = time.monotonic()
        end = hard_end
        if (
            args.once
        ):  # retained messages arrive right after subscribing: half a quiet second means all are in
            end = min(end, start + 5.0, (last_message or start + 1.5) + 0.5)
        if now >= end:
            break
        try:
            item = inbox.get(timeout=max(0.0, min(0.25, end - now)))
        except queue.Empty:
            item = None
        if isinstance(item, str):
            print(f"camdrift watch: {item}", file=sys.stderr)
            return 1
        if item is not None:
            record = board.update(item[0], item[1], time.monotonic())
            last_message, dirty = time.monotonic(), True
            if args.json and record is not None:
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
                out.flush()
        if live_table and (dirty and time.monotonic() - drawn >= 0.5 or time.monotonic() - drawn >= 5.0):
            out.write(_CLEAR + _render(board, args, time.monotonic()))
            out.flush()
            drawn, dirty = time.monotonic(), False
    if not args.json:
        out.write((_CLEAR if live_table else "") + _render(board, args, time.monotonic()))
        out.flush()
    return 0
