#!/usr/bin/env bash
# Runs examples/quickstart.py. In-process moto unless DYNAMAP_ENDPOINT_URL names a real endpoint.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
exec python examples/quickstart.py "$@"
