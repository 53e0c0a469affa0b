# Shared by the README's commands: create .venv if needed and install dynamap with its dev,
# bench and aio extras (the aio extra: AsyncSession's tests need aiobotocore).
# Sourced, not executed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
VENV="${DYNAMAP_VENV:-$ROOT/.venv}"
if [[ ! -x "$VENV/bin/python" ]]; then
  "$PYTHON" -m venv "$VENV"
fi
# Re-install only when pyproject.toml changed since the last install.
stamp="$VENV/.dynamap-installed"
if [[ ! -f "$stamp" ]] || [[ pyproject.toml -nt "$stamp" ]]; then
  # Some machines list local package folders that may be absent: pip warns once per package.
  quiet_pip() { "$VENV/bin/python" -m pip "$@" 2> >(grep -v "^WARNING: Location 'file:" >&2); }
  quiet_pip install --quiet --upgrade pip
  quiet_pip install --quiet -e ".[dev,bench,aio]"
  touch "$stamp"
fi
export PATH="$VENV/bin:$PATH"
