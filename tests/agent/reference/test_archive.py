"""The npz archive baselines and engine states are stored in: header and arrays round-trip without pickle, the
content digest sees every byte, and a file that is not one is refused with the reason."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

from camdrift.agent.reference.archive import content_digest, pack_npz, unpack_npz


class Refused(ValueError):
    pass


def test_header_and_arrays_round_trip(tmp_path: Path) -> None:
    header = {"format": "x", "version": 1, "roi": [1, 2, 3, 4], "name": "cam"}
    arrays = {"a": np.arange(6, dtype=np.int64).reshape(2, 3), "b": np.linspace(0, 1, 4, dtype=np.float32)}
    path = tmp_path / "f.npz"
    path.write_bytes(pack_npz(header, arrays))
    got_header, got = unpack_npz(path, "test", Refused)
    assert got_header == header
    assert set(got) == {"a", "b"}
    for name, a in arrays.items():
        np.testing.assert_array_equal(got[name], a)
        assert got[name].dtype == a.dtype


def test_only_numeric_arrays_are_stored() -> None:
    with pytest.raises(TypeError, match="array 'names' has dtype <U1"):
        pack_npz({}, {"names": np.array(["a", "b"])})


def test_the_digest_sees_every_byte_and_ignores_its_own_entry() -> None:
    header = {"format": "x", "version": 1}
    arrays = {"a": np.zeros(4), "b": np.ones(2, np.int32)}
    d = content_digest(header, arrays)
    assert content_digest({**header, "sha256": d}, arrays) == d
    assert content_digest({**header, "version": 2}, arrays) != d
    assert content_digest(header, {**arrays, "a": np.array([0, 0, 0, 1e-300])}) != d
    assert content_digest(header, {**arrays, "b": np.ones(2, np.int64)}) != d  # dtype counts
    assert content_digest(header, {**arrays, "b": np.ones((2, 1), np.int32)}) != d  # shape counts


def test_what_is_not_an_archive_is_refused_naming_why(tmp_path: Path) -> None:
    plain = tmp_path / "plain.npz"
    np.savez(plain, x=np.arange(3))
    with pytest.raises(Refused, match="not a test file \\(no header entry\\)"):
        unpack_npz(plain, "test", Refused)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(Refused, match="not a readable test file"):
        unpack_npz(text, "test", Refused)
    listed = tmp_path / "list.npz"
    np.savez(listed, header=np.frombuffer(b"[1, 2]", np.uint8))
    with pytest.raises(Refused, match="header is not a JSON object"):
        unpack_npz(listed, "test", Refused)
    with pytest.raises(FileNotFoundError):
        unpack_npz(tmp_path / "missing.npz", "test", Refused)


def test_declared_sizes_are_bounded_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "big.npz"
    path.write_bytes(pack_npz({"format": "x"}, {"a": np.zeros(1000), "b": np.zeros(1000)}))
    assert set(unpack_npz(path, "test", Refused, max_bytes=16_000)[1]) == {"a", "b"}
    with pytest.raises(Refused, match=r"refused test file \(member 'b.npy' declares .* over the .* limit"):
        unpack_npz(path, "test", Refused, max_bytes=12_000)  # a alone fits, a and b do not


def _npy(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=False)
    return buf.getvalue()


def test_object_arrays_are_refused_without_advising_pickle(tmp_path: Path) -> None:
    path = tmp_path / "obj.npz"
    npy = b"{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"  # an object array's .npy header
    npy = b"\x93NUMPY\x01\x00" + (len(npy) + 1).to_bytes(2, "little") + npy + b"\n" + b"\x80\x04N."
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("header.npy", _npy(np.frombuffer(b"{}", np.uint8)))
        zf.writestr("x.npy", npy)
    with pytest.raises(Refused) as info:
        unpack_npz(path, "test", Refused)
    assert "dtype object" in str(info.value) and "pickle" not in str(info.value).lower()
