"""The episode's picture for dashboards: the evidence capture's JPEG, bounded in size, retained on
``<prefix>/<camera>/snapshot`` when an episode starts (``mqtt.snapshot = true``; off by default).

The picture is the newest frame of the capture the agent saved for the ``drift.started`` event (its
``evidence_id``). A JPEG over ``mqtt.snapshot_max_bytes`` is re-encoded smaller (quality 80, then halved in size
until it fits); one that does not fit even at 64 px wide is not published.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import cv2
import numpy as np

log = logging.getLogger("camdrift.agent.mqtt")
_EVIDENCE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_MAX_READ = 32 << 20  # a frame file larger than this is not read at all
_MIN_WIDTH = 64


def bounded_jpeg(data: bytes, max_bytes: int) -> bytes | None:
    """``data`` (a JPEG) if it fits in ``max_bytes``, else re-encoded smaller until it does (None if it never
    does or ``data`` is not an image)."""
    if len(data) <= max_bytes:
        return data
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    while image is not None and image.shape[1] >= _MIN_WIDTH and image.shape[0] >= 2:
        ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 80])
        if ok and len(buf) <= max_bytes:
            return buf.tobytes()
        image = cv2.resize(image, (image.shape[1] // 2, image.shape[0] // 2), interpolation=cv2.INTER_AREA)
    return None


def snapshot_of(evidence_dir: Path, evidence_id: str, max_bytes: int) -> bytes | None:
    """The bounded JPEG of capture ``evidence_id``'s newest frame in ``evidence_dir``, or None (no such
    capture, an id that is not one, a frame too large to read)."""
    if not _EVIDENCE_ID.fullmatch(evidence_id):
        return None
    frames = sorted((evidence_dir / evidence_id).glob("frame_*.jpg"))
    if not frames:
        return None
    try:
        if frames[-1].stat().st_size > _MAX_READ:
            return None
        data = frames[-1].read_bytes()
    except OSError:
        return None
    return bounded_jpeg(data, max_bytes)


def safe_snapshot(evidence_dir: Path | None, evidence_id: str, max_bytes: int) -> bytes | None:
    """:func:`snapshot_of`, or None with the reason logged: a picture must never stop the analysis (the sink
    makes it on the daemon's thread). None too without an evidence folder (snapshots off)."""
    if evidence_dir is None:
        return None
    try:
        return snapshot_of(evidence_dir, evidence_id, max_bytes)
    except Exception as exc:
        log.error("MQTT: no snapshot for %s: %s", evidence_id, exc)
        return None
