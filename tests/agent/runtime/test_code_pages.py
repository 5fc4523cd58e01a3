"""The agent returns LLVM's loader code pages once its kernels are loaded, and keeps working."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from camdrift.agent.runtime.code_pages import LoaderPages, droppable, parse_smaps

pytestmark = pytest.mark.skipif(not Path("/proc/self/smaps").exists(), reason="needs Linux /proc")

_PROBE = """
import json, numpy as np
from camdrift.kernels import frame_stats
from camdrift.agent.runtime.code_pages import release_loader_pages

def rss():
    return int(next(l for l in open("/proc/self/status") if l.startswith("VmRSS:")).split()[1])

frame = np.random.default_rng(3).integers(0, 256, (360, 640, 3), dtype=np.uint8)
before = frame_stats(frame)
rss0 = rss()
dropped = release_loader_pages()
rss1 = rss()
after = frame_stats(frame)
same = bool((before.channel_hist == after.channel_hist).all() and before.sharpness == after.sharpness
            and (before.thumbnail == after.thumbnail).all())
print(json.dumps({"rss0": rss0, "rss1": rss1, "dropped": dropped, "same": same, "again": release_loader_pages()}))
"""


def test_release_shrinks_the_resident_set_and_the_kernels_still_run() -> None:
    out = subprocess.run([sys.executable, "-c", _PROBE], check=True, capture_output=True, text=True).stdout
    r = json.loads(out.strip().splitlines()[-1])
    assert r["same"]
    assert r["dropped"] > 20 * 1024  # KiB: tens of MiB of loader code were resident
    assert r["rss0"] - r["rss1"] > 20 * 1024
    assert r["again"] < r["dropped"] / 4  # running the loaded kernels does not page the loader back in


def test_only_read_only_pages_without_private_copies_are_chosen() -> None:
    import camdrift.kernels  # noqa: F401  (loads numba, hence libllvmlite)

    mappings = parse_smaps(Path("/proc/self/smaps").read_text())
    llvm = [m for m in mappings if "libllvmlite" in m.path]
    assert llvm, "numba's libllvmlite should be mapped in this process"
    chosen = droppable(mappings)
    assert chosen and all("w" not in m.perms and m.anonymous_kib == 0 for m in chosen)
    assert all("libllvmlite" in m.path for m in chosen)
    relocated = [m for m in llvm if m.anonymous_kib > 0]  # the RELRO data the loader wrote
    assert relocated and not set(relocated) & set(chosen)


def test_parse_reads_sizes_and_paths() -> None:
    text = (
        "7f00a000-7f00c000 r-xp 00001000 08:01 42   /opt/x/libllvmlite.so\n"
        "Size:                  8 kB\nRss:                   8 kB\nAnonymous:             0 kB\n"
        "7f00c000-7f00d000 rw-p 00000000 00:00 0 \nRss:                   4 kB\nAnonymous:             4 kB\n"
    )
    a, b = parse_smaps(text)
    assert (a.start, a.end, a.perms, a.path, a.rss_kib, a.anonymous_kib) == (
        0x7F00A000,
        0x7F00C000,
        "r-xp",
        "/opt/x/libllvmlite.so",
        8,
        0,
    )
    assert b.path == "" and b.anonymous_kib == 4
    assert droppable([a, b]) == [a]


def test_released_again_only_after_more_kernels_are_loaded() -> None:
    loaded = [2]
    calls: list[int] = []

    def release() -> int:
        calls.append(loaded[0])
        return 1000

    pages = LoaderPages(lambda: loaded[0], release)
    assert pages.update() == 1000
    assert pages.update() == 0  # nothing new loaded
    loaded[0] = 5  # the engine's kernels loaded at the first full window
    assert pages.update() == 1000
    assert pages.update() == 0
    assert calls == [2, 5] and pages.released_kib == 2000


def test_a_disabled_release_never_touches_the_process() -> None:
    calls: list[int] = []
    pages = LoaderPages(lambda: 7, lambda: calls.append(1) or 1000, enabled=False)
    assert pages.update() == 0 and pages.update() == 0
    assert calls == [] and pages.released_kib == 0
