#!/usr/bin/env bash
# The whole check: lint, format, mypy --strict, pyright, then pytest on moto and DynamoDB Local.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
echo "== ruff check";        ruff check src tests examples bench
echo "== ruff format";       ruff format --check src tests examples bench
echo "== mypy --strict src"; mypy --strict src
echo "== pyright";           pyright src tests/typing
echo "== pyright --verifytypes dynamap"
pyright --verifytypes dynamap --ignoreexternal
echo "== DynamoDB Local";    python -m tests.support.ddblocal install
echo "== pytest";            python -m pytest "$@"
