"""Shared by the evidence tests."""

from __future__ import annotations

import numpy as np

from camdrift.agent.output.evidence import EvidenceSpool, WindowPicture


def capture(spool: EvidenceSpool, photo: np.ndarray, episode: str, frame_index: int, t: float):
    return spool.capture_episode(
        camera_id="cam1",
        episode_id=episode,
        frame_index=frame_index,
        stream_time=t,
        created_at=1_700_000_000.0 + t,
        frames=[photo, photo[::-1].copy()],
        window=WindowPicture(
            {"luma_window": np.arange(10), "luma_reference": np.ones(10)},
            np.full((8, 8), 100.0),
            np.full((8, 8), 80.0),
        ),
        decision={"psi": 0.4, "threshold": np.float64(0.12), "causes": ("lighting",)},
    )
