"""The package as a user installs it (issue 8).

scripts/test.sh runs the suite against a wheel installed into a fresh venv
(RTDECLIP_TEST_WHEEL names that venv, RTDECLIP_SOURCE_TREE the checkout):
then every module must come from the install, never from the source tree,
and the wheel must hold every package of the source tree and the public C
header.  Run from a development (editable) install, the checks that only
make sense for a wheel are skipped; the sdist test runs either way.
"""
import importlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys

import pytest

import rtdeclip
from audio_files import signal, write_wav

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))   # the checkout
WHEEL_VENV = os.environ.get("RTDECLIP_TEST_WHEEL")
wheel_only = pytest.mark.skipif(not WHEEL_VENV, reason="only against the installed wheel "
                                                        "(bash scripts/test.sh)")
# found but not imported: the build script reads csrc/ relative to the
# checkout, __main__ runs the command line
NOT_IMPORTED = {"rtdeclip._build", "rtdeclip.__main__"}


def source_modules():
    """(packages, modules) under rtdeclip/ in the source tree, dotted."""
    packages, modules = [], []
    for folder, dirs, files in os.walk(os.path.join(ROOT, "rtdeclip")):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        if "__init__.py" not in files:
            continue
        dotted = os.path.relpath(folder, ROOT).replace(os.sep, ".")
        packages.append(dotted)
        modules += [f"{dotted}.{f[:-3]}" for f in files
                    if f.endswith(".py") and f != "__init__.py"]
    return sorted(packages), sorted(modules)


def inside(path, folder):
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return os.path.commonpath([path, folder]) == folder


@wheel_only
def test_rtdeclip_is_the_installed_copy():
    where = rtdeclip.__file__
    assert inside(where, WHEEL_VENV) and not inside(where, os.path.join(ROOT, "rtdeclip")), \
        f"the suite imported rtdeclip from {where}, not from the wheel in {WHEEL_VENV}"
    assert inside(sys.executable, WHEEL_VENV) or sys.prefix == os.path.realpath(WHEEL_VENV)


def test_every_package_of_the_source_tree_imports():
    packages, modules = source_modules()
    assert {"rtdeclip", "rtdeclip.core", "rtdeclip.files", "rtdeclip.cli",
            "rtdeclip.live"} <= set(packages)
    for name in packages + modules:
        if name in NOT_IMPORTED:
            where = importlib.util.find_spec(name).origin
        else:
            where = importlib.import_module(name).__file__
        if WHEEL_VENV:
            assert not inside(where, os.path.join(ROOT, "rtdeclip")), \
                f"{name} imported from the source tree"
            assert inside(where, WHEEL_VENV), f"{name} imported from {where}"


@wheel_only
def test_the_wheel_records_every_source_file_and_the_header():
    from importlib.metadata import files
    recorded = {str(f).replace("\\", "/") for f in files("rtdeclip")}
    packages, modules = source_modules()
    for name in packages:
        assert name.replace(".", "/") + "/__init__.py" in recorded, name
    for name in modules:
        assert name.replace(".", "/") + ".py" in recorded, name
    assert "rtdeclip/include/rtdeclip.h" in recorded
    assert any(f.startswith("rtdeclip/_core") and f.endswith(".so") for f in recorded)


def test_the_public_header_is_installed_and_compiles(tmp_path):
    inc = rtdeclip.get_include()
    header = os.path.join(inc, "rtdeclip.h")
    with open(header) as a, open(os.path.join(ROOT, "csrc", "rtdeclip.h")) as b:
        assert a.read() == b.read()
    if WHEEL_VENV:
        assert inside(header, WHEEL_VENV)
    src = tmp_path / "use.c"
    src.write_text('#include "rtdeclip.h"\nint main(void) { rtd_config c; '
                   'rtd_config_default(&c); return c.channels > 0 ? 0 : 1; }\n')
    r = subprocess.run(["cc", "-std=c99", "-fsyntax-only", f"-I{inc}", str(src)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def _venv_site(venv):
    out = subprocess.run([os.path.join(venv, "bin", "python"), "-c",
                          "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_sdist_builds_installs_and_declips_a_file(tmp_path):
    """The sdist holds what a build needs: built from a copy of the tree,
    installed into a fresh venv (the C core compiled from its csrc/), and its
    `rtdeclip file` declips a generated clip.  The new venv borrows the
    dependencies (numpy, cffi, setuptools, ...) of the running one through a
    .pth file, so nothing is downloaded; rtdeclip itself is only what the
    sdist built."""
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
        ".git", ".test-venv", "dist", "build", "*.so", "*.o", "__pycache__", "*.egg-info",
        ".hypothesis", ".pytest_cache", "_core.c", "results"))
    r = subprocess.run([sys.executable, "-m", "build", "--sdist", "--no-isolation",
                        "--outdir", str(tmp_path / "dist"), str(src)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    (sdist,) = (tmp_path / "dist").glob("rtdeclip-*.tar.gz")

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=120)
    site_dirs = [p for p in sys.path if p.endswith(("site-packages", "dist-packages"))]
    with open(os.path.join(_venv_site(venv), "deps.pth"), "w") as f:
        f.write("\n".join(site_dirs) + "\n")
    py = str(venv / "bin" / "python")
    r = subprocess.run([py, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                        "--no-index", "--disable-pip-version-check", str(sdist)],
                       capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]

    # everything of rtdeclip now comes from the new venv
    r = subprocess.run([py, "-c", "import rtdeclip, rtdeclip._core, rtdeclip.live.host, "
                        "rtdeclip.cli.live, os; print(rtdeclip.__file__); "
                        "print(rtdeclip._core.__file__); "
                        "print(os.path.exists(os.path.join(rtdeclip.get_include(), 'rtdeclip.h')))"],
                       capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    pkg, core, header = r.stdout.split()
    assert inside(pkg, venv) and inside(core, venv), r.stdout
    assert header == "True"

    clean, clipped = signal(seconds=1.0)
    inp = write_wav(tmp_path / "clip.wav", clipped, 44100)
    ref = write_wav(tmp_path / "clean.wav", clean, 44100)
    r = subprocess.run([str(venv / "bin" / "rtdeclip"), "file", inp, "--reference", ref,
                        "--preset", "fastest", "--report", str(tmp_path / "r.json"), "--quiet"],
                       capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "Declipped_clip.wav").exists()
    rep = json.loads((tmp_path / "r.json").read_text())
    assert rep["sdr"]["mix"]["improvement_db"] > 3
