#!/usr/bin/env bash
# The whole check: lint, format, layers, mypy --strict, pyright, editor completion, then
# pytest on moto and DynamoDB Local under coverage, with a floor.
# Arguments go to pytest (e.g. `./scripts/test.sh -k faults`); the coverage floor is only
# enforced on a full run.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
echo "== ruff check";        ruff check src tests examples bench scripts
echo "== ruff format";       ruff format --check src tests examples bench scripts
echo "== import-linter";     lint-imports --no-cache
echo "== mypy --strict";     mypy --strict src tests/typing
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
echo "== editor completion"; python scripts/check_editor.py
echo "== DynamoDB Local";    python -m tests.support.ddblocal install
echo "== pytest (coverage)"
rm -f .coverage .coverage.*
coverage run -m pytest "$@"
if [[ $# -eq 0 ]]; then
  coverage report    # fails under the floor set in pyproject.toml ([tool.coverage.report])
else
  coverage report --fail-under=0 > /dev/null
fi
