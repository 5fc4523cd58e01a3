"""The damaged baselines of the issue, built from the real small baseline: each a (name, bytes) a technician or
the agent might be given."""

from __future__ import annotations

import io
import json
import math
import struct
import zipfile
from pathlib import Path

import numpy as np

from camdrift.agent.reference.archive import content_digest, pack_npz, unpack_npz
from camdrift.agent.reference.baseline import BaselineError

GOLDEN = Path(__file__).parents[1] / "agent" / "reference" / "data" / "baseline_v1.npz"


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def rezip(parts: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return buf.getvalue()


def npy_bytes(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=False)
    return buf.getvalue()


def declared_shape(shape: tuple[int, ...]) -> bytes:
    """A .npy member whose header declares ``shape`` float64 but holds 8 bytes."""
    header = f"{{'descr': '<f8', 'fortran_order': False, 'shape': {shape!r}, }}".encode()
    header += b" " * (63 - (len(header) + 10) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + b"\x00" * 8


def rehashed(header: dict, arrays: dict[str, np.ndarray]) -> bytes:
    header = {k: v for k, v in header.items() if k != "sha256"}
    header["sha256"] = content_digest(header, arrays)
    return pack_npz(header, arrays)


def with_threshold(value: float) -> bytes:
    header, arrays = unpack_npz(GOLDEN, "baseline", BaselineError)
    drift = arrays["thresholds.drift"].copy()
    drift[:] = value
    return rehashed(header, {**arrays, "thresholds.drift": drift})


def cases() -> dict[str, tuple[bytes, str]]:
    """name -> (file bytes, a word the refusal must contain)."""
    raw = GOLDEN.read_bytes()
    parts = members(raw)
    header, arrays = unpack_npz(GOLDEN, "baseline", BaselineError)
    lzma_zip = rezip(parts, zipfile.ZIP_LZMA)
    deflated = bytearray(rezip(parts, zipfile.ZIP_DEFLATED))
    mid = len(deflated) // 3
    deflated[mid : mid + 64] = bytes(range(64))  # corrupt deflate stream
    encrypted = bytearray(raw)
    encrypted[6] |= 0x01  # the local header's "encrypted" flag ...
    cd = raw.rfind(b"PK\x01\x02")
    while cd >= 0:  # ... and the central directory's
        encrypted[cd + 8] |= 0x01
        cd = raw.rfind(b"PK\x01\x02", 0, cd)
    deep = np.frombuffer(("[" * 100_000 + "]" * 100_000).encode(), np.uint8)
    return {
        "plain.npy": (npy_bytes(np.arange(10.0)), "not a readable baseline file"),
        "lzma.npz": (lzma_zip, "compression method"),
        "encrypted.npz": (bytes(encrypted), "encrypted"),
        "corrupt-deflate.npz": (bytes(deflated), "not a readable baseline file"),
        "shape-1e12.npz": (rezip({**parts, "edges.npy": declared_shape((10**12,))}), "byte limit"),
        "deep-header.npz": (rezip({**parts, "header.npy": npy_bytes(deep)}), "nests deeper"),
        "drift-inf.npz": (with_threshold(math.inf), "thresholds.drift holds non-finite"),
        "drift-nan.npz": (with_threshold(math.nan), "thresholds.drift holds non-finite"),
        "header-json.npz": (
            rezip({**parts, "header.npy": npy_bytes(np.frombuffer(b"{", np.uint8))}),
            "readable",
        ),
        "warn-above-drift.npz": (with_threshold(1e-9), "want 0 < warn <= drift"),
        "bad-edges.npz": (
            rehashed(header, {**arrays, "edges": arrays["edges"][:, ::-1].copy()}),
            "edges must increase",
        ),
        "json-header.npz": (
            rezip({**parts, "header.npy": npy_bytes(np.frombuffer(json.dumps([1]).encode(), np.uint8))}),
            "JSON object",
        ),
    }
