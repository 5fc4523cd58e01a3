"""The self-describing file format of baselines and engine states: one ``np.savez`` archive whose entry ``header``
is UTF-8 JSON bytes (a uint8 array) and whose other entries are numeric arrays, read without pickle.

:func:`content_digest` is the SHA-256 over the canonical content (the header JSON without ``sha256``, keys sorted,
then for each array in sorted name order its name, dtype, shape and bytes); a writer stores it in the header as
``sha256`` so that a reader refuses a truncated or altered file with the reason.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import numpy as np


def content_digest(header: dict, arrays: dict[str, np.ndarray]) -> str:
    """Hex SHA-256 of ``header`` (without its ``sha256`` key) and ``arrays``, as the module docstring says."""
    h = hashlib.sha256()
    h.update(json.dumps({k: v for k, v in header.items() if k != "sha256"}, sort_keys=True).encode())
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def pack_npz(header: dict, arrays: dict[str, np.ndarray]) -> bytes:
    """``np.savez`` bytes holding ``arrays`` plus the JSON ``header`` as a uint8 array (no pickle anywhere)."""
    for name, a in arrays.items():
        if np.asarray(a).dtype.kind not in "biuf":
            raise TypeError(f"array {name!r} has dtype {np.asarray(a).dtype}: only numeric arrays are stored")
    buf = io.BytesIO()
    raw = np.frombuffer(json.dumps(header, sort_keys=True).encode(), dtype=np.uint8)
    np.savez(buf, header=raw, allow_pickle=False, **arrays)
    return buf.getvalue()


def unpack_npz(path: str | Path, kind: str, error: type[ValueError]) -> tuple[dict, dict[str, np.ndarray]]:
    """Read a file written by :func:`pack_npz`; raise ``error`` naming why it is not a readable ``kind`` file."""
    try:
        with np.load(path, allow_pickle=False) as z:
            if "header" not in z.files:
                raise error(f"{path}: not a {kind} file (no header entry)")
            header = json.loads(z["header"].tobytes().decode())
            arrays = {name: z[name] for name in z.files if name != "header"}
    except error:
        raise
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as exc:
        raise error(f"{path}: not a readable {kind} file (truncated or not an npz archive: {exc})") from exc
    if not isinstance(header, dict):
        raise error(f"{path}: not a {kind} file (header is not a JSON object)")
    return header, arrays
