#!/usr/bin/env bash
# The whole check: lint, format, mypy --strict, pyright, then pytest on moto and DynamoDB Local.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
echo "== ruff check";        ruff check src tests examples bench
echo "== ruff format";       ruff format --check src tests examples bench
echo "== mypy --strict"; mypy --strict src tests/typing
echo "== pyright";           pyright src tests/typing
echo "== pyright --verifytypes dynamap"
# verifytypes cannot see through an editable install: check a real install of the package.
typed_site="$(mktemp -d)"
trap 'rm -rf "$typed_site"' EXIT
python -m pip install --quiet --no-deps --target "$typed_site" . 2> >(grep -v "^WARNING: Location 'file:" >&2)
(cd "$typed_site" && PYTHONPATH="$typed_site" pyright --pythonpath "$VENV/bin/python" \
  --verifytypes dynamap --ignoreexternal | tee "$typed_site/verify.txt" | tail -n 3)
grep -q 'Type completeness score: 100%' "$typed_site/verify.txt" \
  || { cat "$typed_site/verify.txt"; echo "verifytypes: below 100%"; exit 1; }
echo "== DynamoDB Local";    python -m tests.support.ddblocal install
echo "== pytest";            python -m pytest "$@"
