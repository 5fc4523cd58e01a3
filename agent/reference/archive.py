"""The self-describing file format of baselines and engine states: one ``np.savez`` archive whose entry ``header``
is UTF-8 JSON bytes (a uint8 array) and whose other entries are numeric arrays, read without pickle.

:func:`content_digest` is the SHA-256 over the canonical content (the header JSON without ``sha256``, keys sorted,
then for each array in sorted name order its name, dtype, shape and bytes); a writer stores it in the header as
``sha256`` so that a reader refuses a truncated or altered file with the reason.

:func:`unpack_npz` reads the archive itself (not with ``np.load``), so that every size is bounded before work: only
a regular file is opened (a FIFO would block), members must be stored or deflated, unencrypted ``.npy`` entries
of a numeric dtype whose declared shape fits the member and the byte limit (:data:`MAX_BYTES` decoded in all, at
most :data:`MAX_MEMBERS` members, a header of at most :data:`MAX_HEADER_BYTES` nested at most
:data:`MAX_JSON_DEPTH` deep). Anything else is refused with the caller's error type and one line naming the file.
"""

from __future__ import annotations

import hashlib
import io
import json
import lzma
import math
import struct
import tokenize
import zipfile
import zlib
from pathlib import Path
from typing import IO

import numpy as np

from camdrift.agent.files import open_regular_file

MAX_BYTES = 256 * 2**20  # decoded bytes of all arrays of one file
MAX_MEMBERS = 256
MAX_HEADER_BYTES = 2**20
MAX_JSON_DEPTH = 32
_NPY_HEADER_MAX = 10_000  # bytes of one .npy member's own header (numpy's default limit)
# What a damaged archive can raise while it is read: each becomes one refusal line.
_DAMAGE = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    EOFError,
    ValueError,
    KeyError,
    TypeError,
    NotImplementedError,
    RuntimeError,  # encrypted members; RecursionError is one
    MemoryError,
    OverflowError,
    zlib.error,
    lzma.LZMAError,
    struct.error,
    SyntaxError,  # numpy's header parser (ast.literal_eval) on a garbled .npy header
    tokenize.TokenError,  # ... and its tokenizer
    UnicodeError,
)


class _Refusal(Exception):
    """Why a member is refused (the message is the reason, without the path)."""


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


def json_depth_ok(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the brackets of JSON ``text`` nest at most ``limit`` deep (strings are skipped), checked before
    parsing so that a document nested 100,000 deep is refused without recursion."""
    depth, in_string, escaped = 0, False, False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return False
        elif ch in "]}":
            depth -= 1
    return True


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int) -> np.ndarray:
    """One ``.npy`` member as an array, its declared shape checked against ``budget`` bytes before reading."""
    if info.flag_bits & 0x1:
        raise _Refusal(f"member {info.filename!r} is encrypted")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise _Refusal(
            f"member {info.filename!r} uses compression method {info.compress_type} (want stored or deflated)"
        )
    if info.file_size > budget + _NPY_HEADER_MAX + 128:
        raise _Refusal(
            f"member {info.filename!r} declares {info.file_size} bytes, over the {MAX_BYTES} byte limit"
        )
    with zf.open(info) as fp:
        shape, fortran, dtype = _npy_header(fp, info.filename)
        count = math.prod(shape)
        nbytes = count * dtype.itemsize
        if nbytes > budget:
            raise _Refusal(
                f"member {info.filename!r} declares shape {shape} ({nbytes} bytes), over the byte limit"
            )
        return _read_exactly(fp, shape, fortran, dtype, info.filename)


def _npy_header(fp: IO[bytes], name: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    major, _minor = np.lib.format.read_magic(fp)
    if major == 1:
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp, max_header_size=_NPY_HEADER_MAX)
    elif major in (2, 3):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp, max_header_size=_NPY_HEADER_MAX)
    else:
        raise _Refusal(f"member {name!r} has .npy format version {major}")
    if dtype.hasobject or dtype.kind not in "biuf" or dtype.subdtype is not None or dtype.names is not None:
        raise _Refusal(f"member {name!r} has dtype {dtype}: only plain numeric arrays are read")
    return tuple(int(n) for n in shape), bool(fortran), dtype


def _read_exactly(
    fp: IO[bytes], shape: tuple[int, ...], fortran: bool, dtype: np.dtype, name: str
) -> np.ndarray:
    flat = np.empty(math.prod(shape), dtype=dtype)
    view = memoryview(flat.view(np.uint8))
    got = 0
    while got < len(view):
        n = fp.readinto(view[got:])
        if not n:
            raise _Refusal(f"member {name!r} is shorter than its declared shape {shape}")
        got += n
    return flat.reshape(shape, order="F" if fortran else "C")


def _read_archive(f: IO[bytes], max_bytes: int) -> tuple[dict, dict[str, np.ndarray]]:
    arrays: dict[str, np.ndarray] = {}
    budget = max_bytes
    with zipfile.ZipFile(f) as zf:
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise _Refusal(f"{len(infos)} members, more than {MAX_MEMBERS}")
        for info in infos:
            name = info.filename.removesuffix(".npy")
            if name == info.filename or name in arrays:
                raise _Refusal(f"member {info.filename!r} is not a unique .npy entry")
            limit = MAX_HEADER_BYTES if name == "header" else budget
            arrays[name] = a = _read_member(zf, info, limit)
            budget -= 0 if name == "header" else a.nbytes
    raw = arrays.pop("header", None)
    if raw is None:
        raise _Refusal("no header entry")
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise _Refusal(f"header entry is {raw.dtype} {raw.shape}, want uint8 bytes")
    text = raw.tobytes().decode("utf-8")
    if not json_depth_ok(text):
        raise _Refusal(f"header JSON nests deeper than {MAX_JSON_DEPTH} levels")
    return json.loads(text), arrays


def unpack_npz(
    path: str | Path, kind: str, error: type[ValueError], *, max_bytes: int = MAX_BYTES
) -> tuple[dict, dict[str, np.ndarray]]:
    """Read a file written by :func:`pack_npz`; raise ``error`` (one line naming ``path`` and why it is not a
    readable ``kind`` file) for anything else, FileNotFoundError if there is no file. ``max_bytes``: decoded
    array bytes allowed in all (checked from the declared shapes before anything is decompressed)."""
    try:
        with open_regular_file(path) as f:
            header, arrays = _read_archive(f, max_bytes)
    except FileNotFoundError:
        raise
    except _Refusal as exc:
        reason = str(exc)
        what = "not a" if reason == "no header entry" else "refused"
        raise error(f"{path}: {what} {kind} file ({reason})") from None
    except OSError as exc:
        raise error(f"{path}: cannot read the {kind} file: {exc.strerror or exc}") from None
    except _DAMAGE as exc:
        reason = " ".join(str(exc).split())[:200]
        if not reason or "pickle" in reason.lower():  # never pass on numpy's advice to load unsafely
            reason = type(exc).__name__
        raise error(
            f"{path}: not a readable {kind} file (truncated, damaged or not an npz archive: {reason})"
        ) from None
    if not isinstance(header, dict):
        raise error(f"{path}: not a {kind} file (header is not a JSON object)")
    return header, arrays
