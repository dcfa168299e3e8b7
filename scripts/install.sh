#!/usr/bin/env bash
# Everything rtdeclip needs on a fresh Debian machine, as root: the Debian
# packages listed in scripts/apt.d/*.txt (one file per part of the project:
# the C core and live path, plug-in hosts, the service's browser, ...), then
# the package itself, editable, with its extras (the development set-up;
# scripts/test.sh tests a wheel in a fresh venv instead).
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
for p in $(cat scripts/apt.d/*.txt | sed 's/#.*//'); do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    # jackd2 asks about real-time priority; answer it without a prompt
    echo "jackd2 jackd/tweak_rt_limits boolean false" | debconf-set-selections
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if [ "${RTDECLIP_NO_DEV_INSTALL:-}" = "" ]; then
    python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore -e ".[test,plot,jack]"
fi
