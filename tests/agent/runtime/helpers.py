"""Shared by the runtime tests: an agent configuration around a saved baseline, and real frames."""

from __future__ import annotations

from pathlib import Path

from camdrift.agent.config import Config, parse_config
from camdrift.agent.frames import Frame
from camdrift.agent.output.events import Sequencer
from camdrift.agent.paths import agent_paths
from camdrift.agent.runtime.assembly import MakeSinks, Workshop
from camdrift.agent.sim.line import ProductionLine


def agent_config(tmp: Path, baseline: Path, **sections: dict) -> Config:
    """A camera ``cam1`` on a synthetic source, its state in ``tmp/state``, no console output."""
    doc = {
        "camera": {"id": "cam1"},
        "source": {"uri": "synthetic:stationary?size=160x120"},
        "baseline": {"path": str(baseline)},
        "state": {"dir": str(tmp / "state")},
        "sinks": {"console": {"enabled": False}},
    }
    for name, table in sections.items():
        doc[name] = {**doc.get(name, {}), **table}
    return parse_config(doc)


def workshop(cfg: Config, make_sinks: MakeSinks | None = None) -> Workshop:
    paths = agent_paths(cfg, {})
    paths.state_dir.mkdir(parents=True, exist_ok=True)
    return Workshop(paths, Sequencer(), lambda: 1_700_000_000.0, {}, make_sinks)


def frames(n: int, start: int = 0, fps: float = 5.0) -> list[Frame]:
    """Frames ``start .. start+n-1`` of a healthy production line (160x120 BGR8) at ``fps``."""
    line = ProductionLine(seed=8, width=160, height=120, fps=fps)
    return [Frame(line.frame(i), i, i / fps, "bgr8") for i in range(start, start + n)]
