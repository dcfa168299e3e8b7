#!/usr/bin/env bash
# Install everything, then run the main job: a built-in clipped example
# played through the live declipper to the sound card (the JACK dummy card
# when there is none), with the SDR gained, latency and xruns reported.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec python3 -m rtdeclip live --demo "$@"
