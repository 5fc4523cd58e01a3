"""Sparkplug B against a real mosquitto and the real daemon, decoded on the host's side with the same Tahu
payload: NBIRTH (seq 0, bdSeq) then DBIRTH with the camera's metrics, DDATA as they change with seq counting on,
a rebirth on NCMD, the NDEATH will with the birth's bdSeq when the agent is SIGKILLed, a bdSeq that goes on
counting after a restart, and DDEATH then NDEATH on a clean stop; with a primary host, births only while it
says it is online."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from camdrift.agent.mqtt.settings import MqttSettings
from camdrift.agent.mqtt.sparkplug import DEVICE_METRICS, SparkplugSink, read_bdseq
from camdrift.agent.mqtt.sparkplug_payload import BOOLEAN, REBIRTH, MetricValue, decode, encode
from tests.agent.mqtt.broker import Mosquitto
from tests.agent.mqtt.collector import Collector, Received
from tests.agent.mqtt.test_mqtt_daemon import CAMDRIFT, baseline_file  # noqa: F401 (fixture)

ROOT = "spBv1.0/plant"


def _config(tmp: Path, baseline: Path, port: int) -> Path:
    cfg = tmp / "agent.toml"
    cfg.write_text(
        f'[camera]\nid = "cam1"\n[source]\nuri = "synthetic:gain_step_dark?seed=4&size=160x120"\n'
        f'[baseline]\npath = "{baseline}"\n[state]\ndir = "{tmp}/state"\n[sinks.console]\nenabled = false\n'
        f'[mqtt]\nhost = "127.0.0.1"\nport = {port}\n'
        '[mqtt.sparkplug]\nenabled = true\ngroup_id = "plant"\nedge_node_id = "edge1"\n'
    )
    return cfg


def _kind(m: Received) -> str:
    return m.topic.split("/")[2]


def _after(messages: list[Received], kind: str, start: int = 0) -> list[tuple[int, Received]]:
    return [(i, m) for i, m in enumerate(messages) if i >= start and _kind(m) == kind]


def test_birth_data_rebirth_death_and_bdseq(broker: Mosquitto, baseline_file: Path, tmp_path: Path) -> None:  # noqa: F811
    host = Collector(broker.port, f"{ROOT}/#")
    cfg = _config(tmp_path, baseline_file, broker.port)
    agent = subprocess.Popen([*CAMDRIFT, "--config", str(cfg)], stderr=subprocess.DEVNULL)
    try:
        got = host.wait_for(lambda ms: len(_after(ms, "DBIRTH")) >= 1, timeout=60)
        (i_nb, nbirth), (i_db, dbirth) = _after(got, "NBIRTH")[0], _after(got, "DBIRTH")[0]
        seq, node = decode(nbirth.payload)
        assert seq == 0 and node[REBIRTH] is False and nbirth.topic == f"{ROOT}/NBIRTH/edge1"
        bdseq = node["bdSeq"]
        seq, device = decode(dbirth.payload)
        assert (
            i_db > i_nb
            and seq == 1
            and set(device) == set(DEVICE_METRICS)
            and dbirth.topic.endswith("/edge1/cam1")
        )

        # DDATA as the camera's values change (the light drops 15 % in this scenario), seq counting on.
        got = host.wait_for(
            lambda ms: any(decode(m.payload)[1].get("drift") for _, m in _after(ms, "DDATA")), timeout=60
        )
        seqs = [decode(m.payload)[0] for _, m in _after(got, "DDATA")]
        assert seqs == list(range(2, 2 + len(seqs)))

        # A host asks for a rebirth: NBIRTH (seq 0, the same bdSeq) and DBIRTH again.
        before = len(host.messages)
        cmd = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
        cmd.connect("127.0.0.1", broker.port)
        cmd.loop_start()
        cmd.publish(f"{ROOT}/NCMD/edge1", b"\x00garbage", qos=1).wait_for_publish(5)  # ignored, not fatal
        cmd.publish(
            f"{ROOT}/NCMD/edge1", encode([MetricValue(REBIRTH, BOOLEAN, True)], seq=0), qos=1
        ).wait_for_publish(5)
        got = host.wait_for(lambda ms: len(_after(ms, "DBIRTH", before)) >= 1, timeout=20)
        seq, node = decode(_after(got, "NBIRTH", before)[0][1].payload)
        assert seq == 0 and node["bdSeq"] == bdseq and agent.poll() is None
        cmd.loop_stop()
        cmd.disconnect()

        # SIGKILL: the broker sends the death certificate, with the birth's bdSeq.
        agent.send_signal(signal.SIGKILL)
        agent.wait(timeout=10)
        got = host.wait_for(lambda ms: len(_after(ms, "NDEATH")) >= 1, timeout=60)
        seq, death = decode(_after(got, "NDEATH")[0][1].payload)
        assert seq is None and death == {"bdSeq": bdseq}

        # Restarted: bdSeq goes on counting; a clean stop says DDEATH, then NDEATH with the new bdSeq.
        before = len(host.messages)
        agent = subprocess.Popen([*CAMDRIFT, "--config", str(cfg)], stderr=subprocess.DEVNULL)
        got = host.wait_for(lambda ms: len(_after(ms, "DBIRTH", before)) >= 1, timeout=60)
        new = decode(_after(got, "NBIRTH", before)[0][1].payload)[1]["bdSeq"]
        assert new == (bdseq + 1) % 256 == read_bdseq(tmp_path / "state" / "sparkplug-bdseq")
        agent.send_signal(signal.SIGTERM)
        assert agent.wait(timeout=30) == 0
        got = host.wait_for(lambda ms: len(_after(ms, "NDEATH", before)) >= 1, timeout=20)
        kinds = [_kind(m) for m in got[before:]]
        assert kinds.index("DDEATH") < kinds.index("NDEATH")
        assert decode(_after(got, "NDEATH", before)[0][1].payload)[1] == {"bdSeq": new}
    finally:
        agent.kill()
        host.close()


@pytest.mark.parametrize("bad", ["", "x", "300", "-1"])
def test_a_bad_kept_bdseq_starts_afresh(tmp_path: Path, bad: str) -> None:
    path = tmp_path / "bdseq"
    path.write_text(bad)
    assert read_bdseq(path) == -1 and read_bdseq(tmp_path / "none") == -1 and read_bdseq(None) == -1


def test_with_a_primary_host_the_node_is_born_only_while_the_host_is_online(
    broker: Mosquitto, tmp_path: Path
) -> None:
    settings = MqttSettings(host="127.0.0.1", port=broker.port, reconnect_min_s=0.1, reconnect_max_s=0.2)
    sink = SparkplugSink(settings, "cam1", group_id="plant", edge_node_id="edge1", primary_host_id="scada")
    host = Collector(broker.port, f"{ROOT}/#")
    scada = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    scada.connect("127.0.0.1", broker.port)
    scada.loop_start()

    def say(online: bool) -> None:
        payload = json.dumps({"online": online, "timestamp": 1}).encode()
        scada.publish("spBv1.0/STATE/scada", payload, qos=1, retain=True).wait_for_publish(5)

    sink.start()
    try:
        time.sleep(1.0)
        assert _after(host.messages, "NBIRTH") == []  # no primary host online yet: not born
        say(True)
        got = host.wait_for(lambda ms: len(_after(ms, "DBIRTH")) >= 1)
        first = decode(_after(got, "NBIRTH")[0][1].payload)[1]["bdSeq"]
        before = len(host.messages)
        say(False)
        got = host.wait_for(lambda ms: len(_after(ms, "NDEATH", before)) >= 1)
        assert [_kind(m) for m in got[before:]][:2] == ["DDEATH", "NDEATH"]
        time.sleep(0.8)
        assert _after(host.messages, "NBIRTH", before) == []  # reconnected, waiting for the host again
        say(True)
        got = host.wait_for(lambda ms: len(_after(ms, "NBIRTH", before)) >= 1)
        assert decode(_after(got, "NBIRTH", before)[0][1].payload)[1]["bdSeq"] == first + 1
        assert sink.healthy
    finally:
        sink.stop()
        scada.loop_stop()
        scada.disconnect()
        host.close()


def test_a_refused_login_backs_off_and_a_stop_then_ends_the_thread(tmp_path: Path) -> None:
    """A broker that accepts TCP and refuses the session must not be hammered (a review measured 5,170
    connections in 3 s before the backoff); stopping meanwhile ends the thread cleanly."""
    broker = Mosquitto(tmp_path / "broker", users={"agent": "right"}).start()
    (tmp_path / "pw").write_text("wrong")
    settings = MqttSettings(
        host="127.0.0.1",
        port=broker.port,
        username="agent",
        password_file=tmp_path / "pw",
        reconnect_min_s=0.1,
        reconnect_max_s=0.4,
    )
    bdseq = tmp_path / "bdseq"
    sink = SparkplugSink(settings, "cam1", group_id="plant", edge_node_id="edge1", bdseq_path=bdseq)
    try:
        sink.start()
        time.sleep(2.0)
        attempts = read_bdseq(bdseq) + 1  # bdSeq counts connection attempts from 0
        assert 2 <= attempts <= 10 and sink.error and "refused" in sink.error
        sink.stop()
        assert not sink.healthy  # the thread ended, by the stop and not by an exception
    finally:
        sink.stop()
        broker.kill()


def test_a_rebirth_request_waits_for_the_primary_host(broker: Mosquitto) -> None:
    settings = MqttSettings(host="127.0.0.1", port=broker.port, reconnect_min_s=0.1, reconnect_max_s=0.2)
    sink = SparkplugSink(settings, "cam1", group_id="plant", edge_node_id="edge1", primary_host_id="scada")
    host = Collector(broker.port, f"{ROOT}/#")
    cmd = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    cmd.connect("127.0.0.1", broker.port)
    cmd.loop_start()
    offline = json.dumps({"online": False, "timestamp": 1}).encode()
    cmd.publish("spBv1.0/STATE/scada", offline, qos=1, retain=True).wait_for_publish(5)
    sink.start()
    try:
        time.sleep(0.8)
        rebirth = encode([MetricValue(REBIRTH, BOOLEAN, True)], seq=0)
        cmd.publish(f"{ROOT}/NCMD/edge1", rebirth, qos=1).wait_for_publish(5)
        time.sleep(0.8)
        assert _after(host.messages, "NBIRTH") == []  # the host is offline: no birth, asked or not
    finally:
        sink.stop()
        cmd.loop_stop()
        cmd.disconnect()
        host.close()
