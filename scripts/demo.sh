#!/usr/bin/env bash
# Install everything, then run the main job on the built-in example.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec python3 -m rtdeclip demo "$@"
