#!/usr/bin/env bash
# Install everything, then run the whole test suite.  The tests start (and
# stop) their own JACK dummy server for the live path.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec python3 -m pytest -q "$@"
