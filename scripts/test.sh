#!/usr/bin/env bash
# The README's test command: the whole test suite against the package as a
# user gets it, a wheel installed into a fresh virtual environment, never the
# source tree (a source-tree import hides files missing from the wheel).
#
#   bash scripts/test.sh                      # everything
#   bash scripts/test.sh tests/test_core.py -x -k survey   # arguments go to pytest
#
# 1. Debian packages (scripts/install.sh, without its editable install);
# 2. a fresh venv in .test-venv (removed and made again on every run);
# 3. wheel and sdist with `python -m build` into dist/;
# 4. the wheel installed into the venv with the extras below;
# 5. pytest run from a temporary folder, so `import rtdeclip` can only find
#    the installed copy; tests/test_install.py checks that it did.
# The tests start (and stop) their own JACK dummy server for the live path.
set -euo pipefail

# extras the test venv installs; parts that need more add theirs here
EXTRAS="test,plot,jack,service,cluster"

cd "$(dirname "$0")/.."
ROOT="$PWD"
VENV="${RTDECLIP_TEST_VENV:-$ROOT/.test-venv}"
PIP=(-m pip install -q --disable-pip-version-check --root-user-action=ignore)

RTDECLIP_NO_DEV_INSTALL=1 bash scripts/install.sh

echo "test.sh: fresh venv in $VENV" >&2
rm -rf "$VENV"
python3 -m venv "$VENV"
PY="$VENV/bin/python"
"$PY" "${PIP[@]}" build

echo "test.sh: building the wheel and the sdist into dist/" >&2
rm -rf "$ROOT/dist"
"$PY" -m build --outdir "$ROOT/dist" "$ROOT" >"$VENV/build.log" 2>&1 || {
    tail -40 "$VENV/build.log" >&2; echo "test.sh: python -m build failed" >&2; exit 1; }
wheels=("$ROOT"/dist/rtdeclip-*.whl)
sdists=("$ROOT"/dist/rtdeclip-*.tar.gz)
if [ ${#wheels[@]} -ne 1 ] || [ ! -f "${wheels[0]}" ] || [ ! -f "${sdists[0]}" ]; then
    echo "test.sh: expected one wheel and one sdist in dist/, got: $(ls "$ROOT/dist")" >&2
    exit 1
fi

echo "test.sh: installing $(basename "${wheels[0]}")[$EXTRAS]" >&2
"$PY" "${PIP[@]}" "${wheels[0]}[$EXTRAS]"

# pytest runs outside the source tree: neither pytest nor `python -m
# rtdeclip` in a test's subprocess may pick up ./rtdeclip
RUN="$(mktemp -d /tmp/rtdeclip-test.XXXXXX)"
trap 'rm -rf "$RUN"' EXIT
cd "$RUN"
where="$("$PY" -c 'import rtdeclip; print(rtdeclip.__file__)')"
case "$where" in
    "$VENV"/*) ;;
    *) echo "test.sh: rtdeclip imports from $where, not from the wheel in $VENV" >&2; exit 1 ;;
esac

# arguments naming files of the source tree (tests/test_x.py::name) are
# made absolute; without any, the whole of tests/
args=()
have_path=0
for a in "$@"; do
    if [[ "$a" != -* && -e "$ROOT/${a%%::*}" ]]; then
        args+=("$ROOT/$a"); have_path=1
    else
        [[ "$a" != -* && -e "${a%%::*}" ]] && have_path=1
        args+=("$a")
    fi
done
[ $have_path -eq 1 ] || args+=("$ROOT/tests")

export RTDECLIP_TEST_WHEEL="$VENV" RTDECLIP_SOURCE_TREE="$ROOT"
set +e
# -rs: every skip says why in the log (a test that skips itself on a
# condition of the machine must be visible, not counted only)
"$PY" -m pytest -q -rs -p no:cacheprovider --rootdir "$ROOT" -c "$ROOT/pyproject.toml" \
    ${args[@]+"${args[@]}"}
rc=$?
set -e
if [ $rc -eq 5 ]; then
    echo "test.sh: pytest collected no tests: that is a failure" >&2
    exit 1
fi
exit $rc
