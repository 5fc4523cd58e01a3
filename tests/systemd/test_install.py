"""systemd/install.sh into a scratch root: first install, a second run, an upgrade, uninstall and purge.

Each test installs into its own root under tmp_path (``--root``), which starts with copies of the host's
/etc/passwd, group, shadow and gshadow so that systemd-sysusers and the owner checks run on a realistic base;
owners are checked against the uid/gid the installer wrote into that root's passwd/group.

Test shortcut (documented in the installer's --no-deps): the package is really installed from a wheel built once
per session from a copy of this source tree, but with ``--no-deps``; its dependencies come from this project's
.venv through a ``.pth`` file the test drops into the scratch venv, instead of a slow download from PyPI.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sqlite3
import stat
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
INSTALLER = REPO / "systemd" / "install.sh"
EXAMPLE = REPO / "systemd" / "camdrift.example.toml"
VENV = "opt/camdrift/venv"
UNIT = "usr/local/lib/systemd/system/camdrift@.service"
TECH_UID = 4321  # a technician's uid: not in the scratch passwd, only in file owners

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="the installer creates users and chowns files: needs root"),
    pytest.mark.skipif(shutil.which("systemd-sysusers") is None, reason="systemd-sysusers not installed"),
]


def source_copy(src: Path, version_suffix: str = "") -> Path:
    """A copy of the source tree (package folders and pyproject); ``version_suffix`` makes an 'upgrade'."""
    shutil.copytree(REPO, src, ignore=_ignore_top_level)
    if version_suffix:
        text = (src / "pyproject.toml").read_text()
        text, n = re.subn(r'(?m)^version = "([^"]+)"', rf'version = "\g<1>{version_suffix}"', text)
        assert n == 1
        (src / "pyproject.toml").write_text(text)
    return src


def build_wheel(src: Path, dest: Path) -> Path:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(dest),
            str(src),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    (wheel,) = dest.glob("camdrift-*.whl")
    return wheel


def _ignore_top_level(directory: str, names: list[str]) -> list[str]:
    keep = {"pyproject.toml", "README.md", "kernels", "agent", "calibration"}
    if Path(directory) == REPO:
        return [n for n in names if n not in keep]
    return [n for n in names if n in ("__pycache__", "build") or n.endswith(".egg-info")]


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A wheel of this tree, and a source tree of the 'next version' (same code, version + ".post7")."""
    base = tmp_path_factory.mktemp("packages")
    return build_wheel(source_copy(base / "v1"), base / "wheels"), source_copy(base / "v2", ".post7")


def seeded_root(parent: Path) -> Path:
    """``parent/root`` with copies of the host's account files, as on a real box before the install."""
    r = parent / "root"
    (r / "etc").mkdir(parents=True)
    for name in ("passwd", "group", "shadow", "gshadow"):
        shutil.copy2(f"/etc/{name}", r / "etc" / name)
    return r


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return seeded_root(tmp_path)


def install(root: Path, *args: str, warm: tuple[str, ...] = ("--no-warm",)) -> subprocess.CompletedProcess:
    # Compiling the kernels ahead costs ~20 s per install: only the test of it does (warm=()).
    # A --source build inside the scratch venv uses its own setuptools plus `wheel` from this project's venv
    # (through the .pth below) instead of downloading build tools into an isolated environment.
    env = {**os.environ, "PIP_NO_BUILD_ISOLATION": "0"}
    run = subprocess.run(
        ["bash", str(INSTALLER), "--root", str(root), "--python", sys.executable, "--no-deps", *warm, *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        umask=0o077,  # a hardened admin's umask: the installer must still make the venv readable
    )
    assert run.returncode == 0, run.stdout + run.stderr
    # The test shortcut: dependencies from this project's venv (camdrift itself from the installed wheel).
    (site,) = (root / VENV / "lib").glob("python3*/site-packages")
    pth = site / "_camdrift_test_deps.pth"
    if not pth.exists():
        pth.write_text(sysconfig.get_paths()["purelib"] + "\n")
    return run


def uninstall(root: Path, *args: str) -> subprocess.CompletedProcess:
    run = subprocess.run(
        ["bash", str(INSTALLER), "--root", str(root), "--uninstall", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return run


def ids(root: Path) -> tuple[dict[str, int], dict[str, int]]:
    users = {
        line.split(":")[0]: int(line.split(":")[2]) for line in (root / "etc/passwd").read_text().splitlines()
    }
    groups = {
        line.split(":")[0]: int(line.split(":")[2]) for line in (root / "etc/group").read_text().splitlines()
    }
    return users, groups


def owner_mode(path: Path) -> tuple[int, int, int]:
    st = path.lstat()
    return st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)


def snapshot(top: Path) -> dict[str, tuple]:
    """Every path under ``top``: type, owner, mode, content hash and mtime (symlinks: their target)."""
    out: dict[str, tuple] = {}
    for p in sorted(top.rglob("*")):
        rel = str(p.relative_to(top))
        st = p.lstat()
        if p.is_symlink():
            what = ("link", os.readlink(p))
        elif p.is_dir():
            what = ("dir",)
        else:
            what = ("file", hashlib.sha256(p.read_bytes()).hexdigest(), st.st_mtime_ns)
        out[rel] = (*what, st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode))
    return out


def camdrift_version(root: Path) -> str:
    run = subprocess.run(
        [str(root / VENV / "bin/camdrift"), "--version"], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    return run.stdout.strip()


def add_instance_data(root: Path, groups: dict[str, int]) -> None:
    """What a running agent and a technician leave behind: engine state, outbox, evidence, a baseline."""
    inst = root / "var/lib/camdrift/cam1"
    users, _ = ids(root)
    uid, gid = users["camdrift"], groups["camdrift"]
    with sqlite3.connect(inst / "outbox.sqlite") as db:
        db.execute("CREATE TABLE outbox (id INTEGER PRIMARY KEY, topic TEXT, payload BLOB)")
        db.execute("INSERT INTO outbox (topic, payload) VALUES ('camdrift/site/cam1/event', x'7b7d')")
    (inst / "engine-state.json").write_text('{"version": 1}\n')
    (inst / "evidence").mkdir()
    (inst / "evidence" / "0001.npz").write_bytes(os.urandom(256))
    for p in (
        inst / "outbox.sqlite",
        inst / "engine-state.json",
        inst / "evidence",
        inst / "evidence" / "0001.npz",
    ):
        os.chown(p, uid, gid)
        p.chmod(0o750 if p.is_dir() else 0o640)
    baseline = inst / "baselines" / "line3.npz"
    baseline.write_bytes(os.urandom(512))
    os.chown(baseline, TECH_UID, gid)  # the group comes from the setgid directory on a real box
    baseline.chmod(0o640)
    conf = root / "etc/camdrift/cam1.toml"
    conf.write_text(conf.read_text() + "\n# edited on site\n")
    (root / "etc/camdrift/credentials/cam1.mqtt-password").write_text("s3cret\n")


def test_first_install(root: Path, packages: tuple[Path, Path]) -> None:
    run = install(root, "--wheel", str(packages[0]), "--enable", "cam1")
    users, groups = ids(root)
    cam, cgid = users["camdrift"], groups["camdrift"]
    assert "camdrift-tap" in groups and "video" in groups
    passwd = next(
        line for line in (root / "etc/passwd").read_text().splitlines() if line.startswith("camdrift:")
    )
    assert passwd.split(":")[3] == str(cam) and passwd.endswith(":/var/lib/camdrift:/usr/sbin/nologin")
    expect = {
        "opt/camdrift": (0, 0, 0o755),
        UNIT: (0, 0, 0o644),
        "usr/local/lib/sysusers.d/camdrift.conf": (0, 0, 0o644),
        "etc/camdrift": (0, cgid, 0o750),
        "etc/camdrift/cam1.toml": (0, cgid, 0o640),
        "etc/camdrift/credentials": (0, 0, 0o700),
        "etc/camdrift/credentials/cam1.mqtt-password": (0, 0, 0o600),
        "var/lib/camdrift": (0, cgid, 0o750),
        "var/lib/camdrift/cam1": (cam, cgid, 0o2770),
        "var/lib/camdrift/cam1/baselines": (cam, cgid, 0o2770),
        "var/cache/camdrift": (cam, cgid, 0o750),
    }
    if EXAMPLE.exists():
        expect["etc/camdrift/example.toml.sample"] = (0, cgid, 0o640)
        assert (root / "etc/camdrift/example.toml.sample").read_bytes() == EXAMPLE.read_bytes()
        assert (root / "etc/camdrift/cam1.toml").read_bytes() == EXAMPLE.read_bytes()
    for rel, want in expect.items():
        assert owner_mode(root / rel) == want, rel
    assert (root / "etc/camdrift/credentials/cam1.mqtt-password").read_bytes() == b""
    assert (root / UNIT).read_bytes() == (REPO / "systemd/camdrift@.service").read_bytes()
    link = root / "etc/systemd/system/multi-user.target.wants/camdrift@cam1.service"
    assert os.readlink(link) == "/" + UNIT
    # The package is really installed: the entry point runs from the scratch venv, from its own files.
    assert camdrift_version(root) == f"camdrift {packages[0].name.split('-')[1]}"
    where = subprocess.run(
        [str(root / VENV / "bin/python"), "-c", "import camdrift.agent.cli as c; print(c.__file__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert where.startswith(str(root / VENV))
    # The service user (not root) must be able to read and run everything in the venv.
    for p in (root / VENV).rglob("*"):
        mode = p.lstat().st_mode
        assert stat.S_ISLNK(mode) or mode & 0o004, p
        assert not stat.S_ISDIR(mode) or mode & 0o001, p
    assert (root / VENV / "bin/camdrift").stat().st_mode & 0o001
    assert "wrote /etc/camdrift/cam1.toml from the example" in run.stdout


def test_second_run_changes_nothing_and_no_systemctl_only_prints(
    root: Path, packages: tuple[Path, Path]
) -> None:
    install(root, "--wheel", str(packages[0]), "--enable", "cam1")
    (root / "var/cache/camdrift/numba").mkdir()
    (root / "var/cache/camdrift/numba/frame_stats.nbi").write_bytes(b"compiled once")
    before = snapshot(root)
    run = install(root, "--wheel", str(packages[0]), "--enable", "cam1")
    assert snapshot(root) == before  # the venv too: same wheel, so not even reinstalled
    assert "already this build" in run.stdout and "try-restart" not in run.stdout

    run = install(root, "--wheel", str(packages[0]), "--enable", "cam2", "--no-systemctl")
    assert "would run: systemctl enable camdrift@cam2.service" in run.stdout
    assert not (root / "etc/systemd/system/multi-user.target.wants/camdrift@cam2.service").exists()
    assert (root / "etc/camdrift/cam2.toml").is_file() and (root / "var/lib/camdrift/cam2/baselines").is_dir()


def test_upgrade_keeps_config_and_data_and_restarts(root: Path, packages: tuple[Path, Path]) -> None:
    install(root, "--wheel", str(packages[0]), "--enable", "cam1")
    old_version = camdrift_version(root)
    _, groups = ids(root)
    add_instance_data(root, groups)
    kept = {d: snapshot(root / d) for d in ("etc/camdrift", "var/lib/camdrift")}

    (root / "var/cache/camdrift/numba").mkdir()
    (root / "var/cache/camdrift/numba/frame_stats.nbi").write_bytes(b"compiled for the old code")

    run = install(root, "--source", str(packages[1]))
    assert camdrift_version(root) == old_version + ".post7"
    assert "systemctl try-restart camdrift@*.service" in run.stdout
    assert not (root / "var/cache/camdrift/numba").exists()
    for d, snap in kept.items():
        assert snapshot(root / d) == snap, d
    assert (root / "var/lib/camdrift/cam1/baselines/line3.npz").stat().st_uid == TECH_UID
    with sqlite3.connect(root / "var/lib/camdrift/cam1/outbox.sqlite") as db:
        assert db.execute("SELECT count(*) FROM outbox").fetchone() == (1,)
    assert (root / "etc/systemd/system/multi-user.target.wants/camdrift@cam1.service").is_symlink()


def test_uninstall_keeps_data_and_purge_removes_it(root: Path, packages: tuple[Path, Path]) -> None:
    install(root, "--wheel", str(packages[0]), "--enable", "cam1")
    _, groups = ids(root)
    add_instance_data(root, groups)
    kept = {d: snapshot(root / d) for d in ("var/lib/camdrift",)}
    configs = {p.name: p.read_bytes() for p in (root / "etc/camdrift").glob("*.toml")}

    uninstall(root)
    for gone in ("opt/camdrift", UNIT, "usr/local/lib/sysusers.d/camdrift.conf", "var/cache/camdrift"):
        assert not (root / gone).exists(), gone
    assert not list((root / "etc/systemd/system").rglob("camdrift@*"))
    assert not (root / "etc/camdrift/example.toml.sample").exists()
    assert {p.name: p.read_bytes() for p in (root / "etc/camdrift").glob("*.toml")} == configs
    assert (root / "etc/camdrift/credentials/cam1.mqtt-password").read_text() == "s3cret\n"
    assert snapshot(root / "var/lib/camdrift") == kept["var/lib/camdrift"]
    uninstall(root)  # again: nothing left to remove is not an error

    uninstall(root, "--purge")
    assert not (root / "etc/camdrift").exists() and not (root / "var/lib/camdrift").exists()
    users, _ = ids(root)
    assert "camdrift" in users  # never deleted: files elsewhere may still carry the uid


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--purge"], "--purge only goes with --uninstall"),
        (["--enable", "../etc"], "--enable ../etc: instance names"),
        (["--frobnicate"], "unknown option: --frobnicate"),
        (["--wheel", "/nonexistent/camdrift.whl"], "--wheel /nonexistent/camdrift.whl: no such file"),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_touched(
    root: Path, args: list[str], message: str
) -> None:
    before = snapshot(root)
    run = subprocess.run(
        ["bash", str(INSTALLER), "--root", str(root), *args], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 2
    assert message in run.stderr
    assert "Traceback" not in run.stderr
    assert snapshot(root) == before


@pytest.fixture
def open_root() -> Iterator[Path]:
    """A scratch root whose parents other uids can traverse (pytest's own tmp folders are 0700)."""
    top = Path(tempfile.mkdtemp(prefix="camdrift-root-", dir="/tmp"))
    top.chmod(0o755)
    yield seeded_root(top)
    shutil.rmtree(top)


def as_user(
    uid: int, gid: int, groups: list[int], script: str, umask: int = 0o022
) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["sh", "-c", script],
        user=uid,
        group=gid,
        extra_groups=groups,
        umask=umask,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_technician_writes_a_baseline_the_service_reads(open_root: Path, packages: tuple[Path, Path]) -> None:
    install(open_root, "--wheel", str(packages[0]), "--enable", "cam1")
    users, groups = ids(open_root)
    cam_uid, cam_gid, tap_gid = users["camdrift"], groups["camdrift"], groups["camdrift-tap"]
    baselines = open_root / "var/lib/camdrift/cam1/baselines"
    target = baselines / "baseline.npz"

    # A technician: own uid and primary group, member of group camdrift, ordinary umask.
    tech = as_user(TECH_UID, TECH_UID, [cam_gid], f"printf camdrift-baseline > {target}")
    assert tech.returncode == 0, tech.stderr
    assert (target.stat().st_uid, target.stat().st_gid) == (TECH_UID, cam_gid)  # group from the setgid dir

    service = as_user(cam_uid, cam_gid, [tap_gid], f"cat {target}", umask=0o027)
    assert service.returncode == 0, service.stderr
    assert service.stdout == "camdrift-baseline"
    # The service can read its config but not the credential store (systemd hands it the password).
    assert as_user(cam_uid, cam_gid, [tap_gid], f"cat {open_root}/etc/camdrift/cam1.toml").returncode == 0
    assert as_user(cam_uid, cam_gid, [tap_gid], f"ls {open_root}/etc/camdrift/credentials").returncode != 0

    # Someone outside group camdrift reads nothing of the state or the config.
    outsider = TECH_UID + 1
    assert as_user(outsider, outsider, [], f"ls {baselines}").returncode != 0
    assert as_user(outsider, outsider, [], f"cat {open_root}/etc/camdrift/cam1.toml").returncode != 0
    # A technician whose tool writes 0600 (e.g. mkstemp) makes a file the service cannot read; the README's
    # recipe `install -m 0640` fixes it.
    private = baselines / "private.npz"
    assert as_user(TECH_UID, TECH_UID, [cam_gid], f"printf private > {private}", umask=0o077).returncode == 0
    assert as_user(cam_uid, cam_gid, [tap_gid], f"cat {private}").returncode != 0
    fixed = as_user(
        TECH_UID, TECH_UID, [cam_gid], f"install -m 0640 {private} {baselines}/fixed.npz", umask=0o077
    )
    assert fixed.returncode == 0, fixed.stderr
    assert as_user(cam_uid, cam_gid, [tap_gid], f"cat {baselines}/fixed.npz").returncode == 0


def test_numba_compiles_into_the_cache_directory_as_the_service_user(
    open_root: Path, packages: tuple[Path, Path]
) -> None:
    """The installer compiles the kernels as the service user into the unit's cache directory, so the first
    start finds them compiled: the agent's kernel call afterwards adds nothing to the cache."""
    run = install(open_root, "--wheel", str(packages[0]), warm=())
    users, groups = ids(open_root)
    uid, gid = users["camdrift"], groups["camdrift"]
    python = open_root / VENV / "bin/python"
    probe = as_user(uid, gid, [], f"{python} -c pass")
    if probe.returncode != 0:
        pytest.skip(
            f"the service uid cannot run this machine's interpreter ({sys.base_prefix}): {probe.stderr}"
        )
    assert "numba kernels compiled and cached" in run.stdout, run.stdout + run.stderr
    warmed = sorted((open_root / "var/cache/camdrift/numba").rglob("*.nbc"))
    assert warmed and all(p.stat().st_uid == uid for p in warmed)
    # The environment the unit gives the agent, with %C (the cache root) inside the scratch root.
    unit_env = next(
        line.split("=", 1)[1]
        for line in (open_root / UNIT).read_text().splitlines()
        if line.startswith("Environment=")
    )
    env = dict(kv.split("=", 1) for kv in unit_env.replace("%C", str(open_root / "var/cache")).split())
    venv_before = snapshot(open_root / VENV)
    code = (
        "import numpy as np; from camdrift.kernels import frame_stats; "
        "print(frame_stats(np.zeros((16, 16, 3), np.uint8), pixel_format='bgr8').luma_hist[0])"
    )
    run = subprocess.run(
        [str(python), "-c", code],
        user=uid,
        group=gid,
        env={"PATH": "/usr/bin:/bin", **env},
        cwd="/",
        umask=0o027,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == str(16 * 16)
    cached = list((open_root / "var/cache/camdrift/numba").rglob("*.nbi"))
    assert cached and all(p.stat().st_uid == uid for p in cached)
    assert sorted((open_root / "var/cache/camdrift/numba").rglob("*.nbc")) == warmed  # nothing compiled anew
    assert snapshot(open_root / VENV) == venv_before  # the root-owned venv stays untouched
