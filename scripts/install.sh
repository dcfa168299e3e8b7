#!/usr/bin/env bash
# Everything rtdeclip needs on a fresh Debian machine, as root: the C
# libraries (FFTW, PortAudio), the JACK server used as a sound card where
# there is none, and the package itself with its test extras.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
# clang + libclang-rt-14-dev (libFuzzer) and valgrind: the reliability tests
for p in build-essential libfftw3-dev libportaudio2 jackd2 clang libclang-rt-14-dev valgrind; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    # jackd2 asks about real-time priority; answer it without a prompt
    echo "jackd2 jackd/tweak_rt_limits boolean false" | debconf-set-selections
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore -e ".[test,plot,jack]"
