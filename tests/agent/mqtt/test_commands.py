"""The command topic: requests parsed strictly (anything else gets an error reply, never an exception), and
against the real daemon and a real mosquitto every command gets its reply, a malformed one an error reply, and
the agent keeps running; an acknowledgement survives a restart."""

from __future__ import annotations

import json
import signal
import subprocess
import time
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from camdrift.agent.mqtt.commands import (
    MAX_BYTES,
    MAX_PENDING,
    Command,
    CommandDesk,
    CommandReply,
    encode_reply,
    parse_command,
)
from camdrift.agent.mqtt.outbox import Outbox
from camdrift.agent.mqtt.settings import MqttSettings
from camdrift.agent.mqtt.sink import MqttSink
from camdrift.agent.output.events import Sequencer
from tests.agent.mqtt.broker import Mosquitto
from tests.agent.mqtt.collector import Collector
from tests.agent.mqtt.test_mqtt_daemon import CAMDRIFT, agent_args, baseline_file  # noqa: F401 (fixture)

S = '"schema": "camdrift.command/1"'


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b'{%s, "id": "a", "command": "refresh"}' % S.encode(), Command("a", "refresh")),
        (b'{%s, "id": "b", "command": "capture"}' % S.encode(), Command("b", "capture")),
        (b'{%s, "id": "c", "command": "ack", "episode_id": "ep"}' % S.encode(), Command("c", "ack", "ep")),
        (b"\xff\xfe", CommandReply(None, None, False, "command payload is not a JSON object")),
        (b"[1, 2]", CommandReply(None, None, False, "command payload is not a JSON object")),
        (b'{%s, "command": "refresh"}' % S.encode(), CommandReply(None, None, False, "'id' must be a string of 1..128 characters")),
        (b'{%s, "id": "d", "command": "reboot"}' % S.encode(), CommandReply("d", None, False, "unknown command 'reboot'; expected one of refresh, capture, ack")),
        (b'{"schema": "x/2", "id": "e", "command": "refresh"}', CommandReply("e", "refresh", False, "'schema' must be 'camdrift.command/1', got 'x/2'")),
        (b'{%s, "id": "f", "command": "ack"}' % S.encode(), CommandReply("f", "ack", False, "'ack' needs 'episode_id', the episode to acknowledge")),
        (b'{%s, "id": "g", "command": "ack", "episode_id": 12}' % S.encode(), CommandReply("g", "ack", False, "'episode_id' must be a string of 1..128 characters")),
    ],
)  # fmt: skip
def test_requests_are_parsed_strictly(payload: bytes, expected) -> None:
    assert parse_command(payload) == expected


def test_oversized_and_random_payloads_never_raise() -> None:
    assert "exceeds" in parse_command(b"{" + b" " * MAX_BYTES + b"}").error
    rng = __import__("random").Random(7)
    for _ in range(2000):
        parsed = parse_command(bytes(rng.randrange(256) for _ in range(rng.randrange(60))))
        assert isinstance(parsed, Command | CommandReply)


def test_a_retained_command_is_refused_not_run_on_every_reconnect() -> None:
    desk = CommandDesk("camdrift/p/cam/command", "cam")
    desk.receive(
        json.dumps({"schema": "camdrift.command/1", "id": "r", "command": "capture"}).encode(), retained=True
    )
    assert desk.take() == []
    assert desk._replies[0].ok is False and "retained" in desk._replies[0].error


def test_the_desk_is_bounded_and_answers_what_it_refuses() -> None:
    desk = CommandDesk("camdrift/p/cam/command", "cam")
    assert desk.reply_topic == "camdrift/p/cam/command/reply"
    for i in range(MAX_PENDING + 2):
        desk.receive(
            json.dumps({"schema": "camdrift.command/1", "id": f"r{i}", "command": "refresh"}).encode()
        )
    assert [c.id for c in desk.take()] == [f"r{i}" for i in range(MAX_PENDING)] and desk.take() == []
    doc = json.loads(encode_reply(CommandReply("r1", "refresh", True), "cam", 1.7e9))
    assert doc["schema"] == "camdrift.command_reply/1" and doc["ok"] is True and doc["time"].endswith("Z")


def _request(
    client: mqtt.Client, topic: str, replies: Collector, payload: bytes, request_id: str | None
) -> dict:
    before = len(replies.messages)
    client.publish(topic, payload, qos=1).wait_for_publish(5)
    got = replies.wait_for(
        lambda ms: any(json.loads(m.payload).get("id") == request_id for m in ms[before:]), timeout=20
    )
    return next(json.loads(m.payload) for m in got[before:] if json.loads(m.payload).get("id") == request_id)


def _command(request_id: str, command: str, **extra: str) -> bytes:
    return json.dumps(
        {"schema": "camdrift.command/1", "id": request_id, "command": command, **extra}
    ).encode()


def test_each_command_gets_its_reply_from_the_running_daemon(
    broker: Mosquitto,
    baseline_file: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    topic = "camdrift/default/cam1/command"
    replies = Collector(broker.port, f"{topic}/reply")
    states = Collector(broker.port, "camdrift/default/cam1/state")
    agent = subprocess.Popen(
        CAMDRIFT + agent_args(baseline_file, tmp_path, broker.port, None), stderr=subprocess.PIPE, text=True
    )
    operator = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id=f"op-{uuid.uuid4().hex[:6]}", protocol=mqtt.MQTTv5
    )
    operator.connect("127.0.0.1", broker.port)
    operator.loop_start()
    try:
        got = states.wait_for(
            lambda ms: any((json.loads(m.payload).get("episode") or {}).get("id") for m in ms), timeout=60
        )
        episode = next(
            json.loads(m.payload)["episode"]["id"] for m in got if json.loads(m.payload).get("episode")
        )

        for bad, rid in (
            (b"not json", None),
            (_command("x1", "reboot"), "x1"),
            (_command("x2", "ack"), "x2"),
        ):
            reply = _request(operator, topic, replies, bad, rid)
            assert reply["ok"] is False and reply["error"] and reply["camera_id"] == "cam1"
        assert agent.poll() is None  # the agent keeps running

        before = len(states.messages)
        assert _request(operator, topic, replies, _command("r1", "refresh"), "r1")["ok"] is True
        states.wait_for(lambda ms: len(ms) > before)  # the state published afresh

        capture = _request(operator, topic, replies, _command("c1", "capture"), "c1")
        assert capture["ok"] is True and capture["evidence_id"].startswith("capture-")
        assert (tmp_path / "state" / "evidence" / capture["evidence_id"] / "frame_00.jpg").is_file()

        wrong = _request(operator, topic, replies, _command("a0", "ack", episode_id="nope"), "a0")
        assert wrong["ok"] is False and f"episode {episode} is open" in wrong["error"]
        assert (
            _request(operator, topic, replies, _command("a1", "ack", episode_id=episode), "a1")["ok"] is True
        )
        states.wait_for(lambda ms: json.loads(ms[-1].payload)["episode"]["acknowledged"] is True)
        agent.send_signal(signal.SIGTERM)
        assert agent.wait(timeout=30) == 0, agent.stderr.read()

        # Restarted on the same state: the episode is restored and still acknowledged.
        agent = subprocess.Popen(
            CAMDRIFT + agent_args(baseline_file, tmp_path, broker.port, None),
            stderr=subprocess.PIPE,
            text=True,
        )
        fresh = Collector(broker.port, "camdrift/default/cam1/state")
        fresh.wait_for(
            lambda ms: any(
                (json.loads(m.payload).get("episode") or {}).get("acknowledged") and not m.retain for m in ms
            ),
            timeout=60,
        )
        fresh.close()
    finally:
        agent.kill()
        agent.wait(timeout=10)
        operator.loop_stop()
        operator.disconnect()
        replies.close()
        states.close()


def _readme_acl() -> str:
    """The ACL file the README recommends (the code block after "mosquitto's ACL file")."""
    text = (Path(__file__).parents[3] / "README.md").read_text()
    after = text[text.index("with mosquitto's ACL file") :]
    return after.split("```\n", 2)[1]


def test_the_readme_acl_lets_operators_command_and_keeps_dashboards_out(tmp_path: Path) -> None:
    users = {"camdrift-agent": "a-pw", "operator": "o-pw", "dashboard": "d-pw"}
    broker = Mosquitto(tmp_path / "broker", users=users, acl=_readme_acl()).start()
    (tmp_path / "agent.pw").write_text("a-pw")
    settings = MqttSettings(
        host="127.0.0.1",
        port=broker.port,
        prefix="camdrift/plant-1",
        site="plant-1",
        username="camdrift-agent",
        password_file=tmp_path / "agent.pw",
        reconnect_min_s=0.1,
        reconnect_max_s=0.2,
    )
    sink = MqttSink(settings, "line3-top", Outbox(tmp_path / "o.sqlite"), Sequencer())
    sink.start()
    clients = []
    try:
        replies = Collector(broker.port, "camdrift/+/+/command/reply", username="dashboard", password="d-pw")
        deadline = time.monotonic() + 10
        while not sink.connected and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # the agent's subscription to its command topic
        topic = "camdrift/plant-1/line3-top/command"
        for user, request_id in (("dashboard", "from-dashboard"), ("operator", "from-operator")):
            client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
            client.username_pw_set(user, users[user])
            client.connect("127.0.0.1", broker.port)
            client.loop_start()
            clients.append(client)
            client.publish(topic, _command(request_id, "refresh"), qos=1).wait_for_publish(5)
        time.sleep(0.5)
        assert [c.id for c in sink.commands.take()] == ["from-operator"]  # the dashboard's write was refused
        sink.commands.answer(CommandReply("from-operator", "refresh", True))
        got = replies.wait_for(lambda ms: len(ms) == 1)  # dashboards read the replies
        assert json.loads(got[0].payload)["id"] == "from-operator"
        replies.close()
    finally:
        for client in clients:
            client.loop_stop()
            client.disconnect()
        sink.stop()
        sink.close()
        broker.kill()
