#!/usr/bin/env bash
# Install, upgrade or remove the camdrift agent as a systemd service (camdrift@<instance>.service).
#
#   sudo systemd/install.sh [--wheel FILE | --source DIR] [--wheelhouse DIR] [--enable INSTANCE]...
#   sudo systemd/install.sh --uninstall [--purge]
#
# Safe to run again: a run with the package already installed changes nothing, and an upgrade (a run with a
# newer wheel or source tree) keeps /etc/camdrift (configs, credentials) and /var/lib/camdrift (baselines, engine state,
# outbox, evidence), then restarts the instances that were running. --uninstall removes the program, the units
# and the numba cache and keeps configs and data; --purge removes those too. The camdrift user and groups are
# never deleted (files on backups or removable media may still carry their ids).
#
# --root DIR (or DESTDIR=DIR) installs into a scratch root instead of /: users and groups go into DIR/etc/passwd
# and DIR/etc/group (systemd-sysusers --root), instances are enabled with `systemctl --root` (symlinks only) and
# nothing is started. The virtualenv's scripts then name DIR/opt/camdrift/venv/bin/python, so such a tree works
# where it is (tests, inspection), not after being copied elsewhere.
set -euo pipefail
# The service user reads the venv and the unit; an admin's strict umask (077) must not make them unreadable.
umask 022

PROG=camdrift-install
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

usage() {
  cat <<EOF
usage: install.sh [options]
  --wheel FILE        install this camdrift wheel
  --source DIR        install from this source tree (default: the tree this script is in)
  --wheelhouse DIR    take dependencies (and build tools) only from this folder of wheels, not from PyPI
  --no-deps           install camdrift alone; its dependencies must already be importable (tests, offline)
  --python PY         interpreter that creates the virtualenv (default: python3)
  --enable INSTANCE   enable camdrift@INSTANCE.service (repeatable); creates /etc/camdrift/INSTANCE.toml from
                      the example when absent, and starts the instance only if its config existed and passes
                      camdrift run --check-config
  --uninstall         stop and disable all instances, remove program, units and cache; keep config and data
  --purge             with --uninstall: also remove /etc/camdrift, /var/lib/camdrift
  --root DIR          install into DIR instead of / (also: --destdir DIR, or DESTDIR=DIR)
  --no-systemctl      never call systemctl; print what would be run
  --no-warm           do not compile the numba kernels into the service's cache after an install or upgrade
  -h, --help          this text
EOF
}

die() {
  echo "$PROG: $*" >&2
  exit 2
}
say() { echo "$PROG: $*"; }

ROOT="${DESTDIR:-}"
WHEEL="" SOURCE="" WHEELHOUSE="" NO_DEPS=0 PYTHON=python3 UNINSTALL=0 PURGE=0 NO_SYSTEMCTL=0 WARM=1
ENABLE=()
while [ $# -gt 0 ]; do
  case "$1" in
    --wheel) WHEEL="${2:?--wheel needs a file}"; shift 2 ;;
    --source) SOURCE="${2:?--source needs a folder}"; shift 2 ;;
    --wheelhouse) WHEELHOUSE="${2:?--wheelhouse needs a folder}"; shift 2 ;;
    --no-deps) NO_DEPS=1; shift ;;
    --python) PYTHON="${2:?--python needs an interpreter}"; shift 2 ;;
    --enable) ENABLE+=("${2:?--enable needs an instance name}"); shift 2 ;;
    --uninstall) UNINSTALL=1; shift ;;
    --purge) PURGE=1; shift ;;
    --root | --destdir | --prefix) ROOT="${2:?$1 needs a folder}"; shift 2 ;;
    --no-systemctl) NO_SYSTEMCTL=1; shift ;;
    --no-warm) WARM=0; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
done

[ "$(id -u)" = 0 ] || die "must run as root (it creates a system user and chowns directories)"
[ "$PURGE" = 0 ] || [ "$UNINSTALL" = 1 ] || die "--purge only goes with --uninstall"
[ -z "$WHEEL" ] || [ -z "$SOURCE" ] || die "give --wheel or --source, not both"
[ -z "$WHEEL" ] || [ -f "$WHEEL" ] || die "--wheel $WHEEL: no such file"
[ -z "$WHEELHOUSE" ] || [ -d "$WHEELHOUSE" ] || die "--wheelhouse $WHEELHOUSE: no such folder"
for inst in "${ENABLE[@]}"; do
  # Letters, digits, "_", "-" and "." need no systemd escaping, so %i in the unit is the name as typed.
  [[ "$inst" =~ ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$ ]] ||
    die "--enable $inst: instance names are 1..64 letters, digits, '_', '-' or '.', starting with a letter or digit"
done
if [ -n "$ROOT" ]; then
  mkdir -p "$ROOT"
  ROOT="$(cd "$ROOT" && pwd)"
  [ "$ROOT" != / ] || ROOT=""
fi

# Where things go, relative to the root. The unit file hard-codes the same paths.
OPT=/opt/camdrift
VENV=$OPT/venv
UNIT_DIR=/usr/local/lib/systemd/system
SYSUSERS_DIR=/usr/local/lib/sysusers.d
ETC=/etc/camdrift
CRED=$ETC/credentials
STATE=/var/lib/camdrift
CACHE=/var/cache/camdrift
UNIT=camdrift@.service

# systemctl: "live" talks to the running systemd; "offline" edits the symlinks of a scratch root; "print"
# only says what it would do (--no-systemctl, or / without a running systemd, e.g. a container).
if [ "$NO_SYSTEMCTL" = 1 ]; then
  SYSTEMCTL=print
elif [ -n "$ROOT" ]; then
  SYSTEMCTL=offline
elif [ -d /run/systemd/system ]; then
  SYSTEMCTL=live
else
  SYSTEMCTL=print
fi

systemctl_() {
  case "$SYSTEMCTL" in
    live) systemctl "$@" ;;
    offline)
      case "$1" in
        enable | disable) systemctl --root="$ROOT" --quiet "$@" ;;
        *) say "would run (no systemd in a scratch root): systemctl $*" ;;
      esac ;;
    print) say "would run: systemctl $*" ;;
  esac
}

# ids USER:GROUP -> UID:GID, looked up in the root's own passwd and group files: with --root, the names exist
# only there, and chown/install would look them up on the host.
ids() {
  local uid=0 gid=0
  [ "${1%%:*}" = root ] || uid="$(awk -F: -v n="${1%%:*}" '$1 == n { print $3; exit }' "$ROOT/etc/passwd")"
  [ "${1##*:}" = root ] || gid="$(awk -F: -v n="${1##*:}" '$1 == n { print $3; exit }' "$ROOT/etc/group")"
  [ -n "$uid" ] && [ -n "$gid" ] || die "no user/group $1 in $ROOT/etc/passwd, $ROOT/etc/group"
  echo "$uid:$gid"
}

# install_file SRC DEST MODE OWNER:GROUP -- atomic (temp file + rename), so a running service never reads half
# a file; an unchanged file is left alone. Sets CHANGED=1 when it wrote.
install_file() {
  local src="$1" dest="$ROOT$2" mode="$3" owner
  owner="$(ids "$4")"
  if [ -f "$dest" ] && cmp -s "$src" "$dest"; then
    chmod "$mode" "$dest"
    chown "$owner" "$dest"
    return
  fi
  install -D -m "$mode" -o "${owner%%:*}" -g "${owner##*:}" "$src" "$dest.camdrift-new"
  mv -f "$dest.camdrift-new" "$dest"
  CHANGED=1
}

# ensure_dir PATH MODE OWNER:GROUP -- create if missing and (re)set owner and mode; never touches contents.
ensure_dir() {
  mkdir -p "$ROOT$1"
  chown "$(ids "$2")" "$ROOT$1"
  chmod "$3" "$ROOT$1"
}

instances_enabled() {
  local f
  for f in "$ROOT"/etc/systemd/system/*.wants/camdrift@?*.service; do
    if [ -L "$f" ]; then basename "$f"; fi
  done | sort -u
}

uninstall() {
  local units
  units="$(instances_enabled)"
  if [ "$SYSTEMCTL" = live ]; then
    systemctl stop 'camdrift@*.service' || true
  fi
  for u in $units; do systemctl_ disable "$u"; done
  # Left-over links (e.g. from --no-systemctl runs) must not point at a unit that is gone.
  find "$ROOT/etc/systemd/system" -path '*.wants/camdrift@*.service' -type l -delete 2>/dev/null || true
  rm -f "$ROOT$UNIT_DIR/$UNIT" "$ROOT$SYSUSERS_DIR/camdrift.conf"
  rm -rf "$ROOT$OPT" "$ROOT$CACHE"
  rm -f "$ROOT$ETC/example.toml.sample"
  [ "$SYSTEMCTL" != live ] || systemctl daemon-reload
  if [ "$PURGE" = 1 ]; then
    rm -rf "$ROOT$ETC" "$ROOT$STATE"
    say "purged: program, units, cache, $ETC and $STATE (the camdrift user and groups are kept)"
  else
    say "removed program, units and cache; kept $ETC and $STATE (use --purge to remove them)"
  fi
}

if [ "$UNINSTALL" = 1 ]; then
  uninstall
  exit 0
fi

command -v systemd-sysusers >/dev/null || die "systemd-sysusers not found (systemd >= 252 is required)"

# 1. User and groups, from the sysusers.d file (also what a package manager would run).
install_file "$HERE/camdrift.sysusers.conf" "$SYSUSERS_DIR/camdrift.conf" 0644 root:root
if [ -n "$ROOT" ]; then
  systemd-sysusers --root="$ROOT" camdrift.conf
else
  systemd-sysusers camdrift.conf
fi

# 2. Program: a virtualenv under /opt/camdrift, kept across upgrades unless its interpreter is gone. The
# SHA-256 of the installed wheel is kept next to it, so a run with the same wheel leaves the venv untouched.
ensure_dir "$OPT" root:root 0755
STAMP="$ROOT$OPT/installed-wheel.sha256"
if ! "$ROOT$VENV/bin/python" -c 'import sys' 2>/dev/null; then
  rm -rf "$ROOT$VENV" "$STAMP"
  "$PYTHON" -m venv "$ROOT$VENV" || die "could not create a virtualenv with $PYTHON (Debian: apt-get install python3-venv)"
fi
PIP=("$ROOT$VENV/bin/python" -m pip --disable-pip-version-check --no-input --quiet)
INDEX=()
[ -z "$WHEELHOUSE" ] || INDEX=(--no-index --find-links "$WHEELHOUSE")
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
if [ -z "$WHEEL" ]; then
  SOURCE="${SOURCE:-$HERE/..}"
  [ -f "$SOURCE/pyproject.toml" ] || die "--source $SOURCE: no pyproject.toml there"
  # Build from a clean copy: setuptools builds in the tree and would package stale modules left in an old
  # build/ folder. tar keeps the mtimes, so an unchanged tree gives a byte-identical wheel (and no reinstall).
  mkdir "$TMP/src"
  tar -C "$SOURCE" --exclude=./.venv --exclude=./.git --exclude=./build --exclude='*.egg-info' \
    --exclude=__pycache__ -cf - . | tar -C "$TMP/src" -xf -
  "${PIP[@]}" wheel --no-deps "${INDEX[@]}" -w "$TMP" "$TMP/src" || die "could not build a wheel from $SOURCE"
  WHEEL="$(ls "$TMP"/camdrift-*.whl)"
fi
SUM="$(sha256sum "$WHEEL" | cut -d' ' -f1)"
PACKAGE_CHANGED=0
if [ "$(cat "$STAMP" 2>/dev/null || true)" != "$SUM" ]; then
  rm -f "$STAMP"
  # --force-reinstall: this exact build is what runs, even when its version number did not change.
  "${PIP[@]}" install --no-deps --force-reinstall "$WHEEL" || die "could not install $WHEEL"
  if [ "$NO_DEPS" = 0 ]; then
    "${PIP[@]}" install "${INDEX[@]}" "$WHEEL" || die "could not install the dependencies of $WHEEL"
  fi
  echo "$SUM" >"$STAMP"
  PACKAGE_CHANGED=1
fi
VERSION="$("$ROOT$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("camdrift"))')"

# 3. Unit, config folder, example config, state and cache folders.
CHANGED=0
install_file "$HERE/$UNIT" "$UNIT_DIR/$UNIT" 0644 root:root
UNIT_CHANGED=$CHANGED
ensure_dir "$ETC" root:camdrift 0750
ensure_dir "$CRED" root:root 0700
if [ -f "$HERE/camdrift.example.toml" ]; then
  install_file "$HERE/camdrift.example.toml" "$ETC/example.toml.sample" 0640 root:camdrift
fi
ensure_dir "$STATE" root:camdrift 0750
ensure_dir "$CACHE" camdrift:camdrift 0750
if [ "$PACKAGE_CHANGED" = 1 ]; then
  # numba keys its cache on source path and mtime, so entries of the old code would only pile up.
  rm -rf "$ROOT$CACHE/numba"
  if [ "$WARM" = 1 ]; then
    # Compiled now, as the service user into the service's cache (the unit's NUMBA_CACHE_DIR), so the first
    # start after an install or upgrade does not spend 10-20 s compiling before its first frame.
    IFS=: read -r WUID WGID <<<"$(ids camdrift:camdrift)"
    setpriv --reuid="$WUID" --regid="$WGID" --clear-groups env -i PATH=/usr/bin:/bin \
      NUMBA_CACHE_DIR="$ROOT$CACHE/numba" PYTHONDONTWRITEBYTECODE=1 "$ROOT$VENV/bin/python" -m camdrift.kernels.warm \
      || say "warning: the numba kernels could not be compiled ahead; the first start compiles them"
  fi
fi

# 4. Pick up a new unit, and restart the instances that were running on the old code or unit.
[ "$UNIT_CHANGED" = 0 ] || systemctl_ daemon-reload
if [ "$PACKAGE_CHANGED" = 1 ] || [ "$UNIT_CHANGED" = 1 ]; then
  systemctl_ try-restart 'camdrift@*.service'
fi

# 5. Instances asked for.
for inst in "${ENABLE[@]}"; do
  conf="$ETC/$inst.toml"
  fresh=0
  if [ ! -e "$ROOT$conf" ]; then
    [ -f "$ROOT$ETC/example.toml.sample" ] || die "--enable $inst: $conf does not exist and there is no example to copy"
    install -m 0640 "$ROOT$ETC/example.toml.sample" "$ROOT$conf"
    chown "$(ids root:camdrift)" "$ROOT$conf"
    fresh=1
  fi
  # LoadCredential= refuses to start the unit when the file is missing; empty = broker without a password.
  if [ ! -e "$ROOT$CRED/$inst.mqtt-password" ]; then
    install -m 0600 -o 0 -g 0 /dev/null "$ROOT$CRED/$inst.mqtt-password"
  fi
  # The same modes systemd applies at each start (StateDirectoryMode=2770), made now so a technician can put
  # a baseline in before the first start.
  ensure_dir "$STATE/$inst" camdrift:camdrift 2770
  ensure_dir "$STATE/$inst/baselines" camdrift:camdrift 2770
  systemctl_ enable "camdrift@$inst.service"
  if [ "$fresh" = 1 ]; then
    say "camdrift@$inst: wrote $conf from the example; edit it, check it with"
    say "  sudo -u camdrift env STATE_DIRECTORY=$STATE/$inst $VENV/bin/camdrift run --check-config --config $conf"
    say "then: systemctl start camdrift@$inst"
  elif [ "$SYSTEMCTL" = live ]; then
    # As the service user and with its state directory, so file permissions are checked too.
    if runuser -u camdrift -- env STATE_DIRECTORY="$STATE/$inst" "$VENV/bin/camdrift" run --check-config --config "$conf"; then
      systemctl start "camdrift@$inst.service"
    else
      say "camdrift@$inst: enabled but not started: fix $conf first"
    fi
  fi
done

if [ "$PACKAGE_CHANGED" = 1 ]; then
  say "installed camdrift $VERSION into ${ROOT:-/}$VENV"
else
  say "camdrift $VERSION in ${ROOT:-/}$VENV is already this build; left as it is"
fi
