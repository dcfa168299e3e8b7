"""The processing path makes no heap allocation and takes no lock.

A small C driver linked with the core defines malloc, free and friends and
pthread_mutex_lock for the whole process (FFTW included) and counts the
calls made while processing runs (create and destroy may allocate)."""
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_process_allocates_nothing_and_locks_nothing(tmp_path):
    csrc = os.path.join(ROOT, "csrc")
    exe = tmp_path / "rt_driver"
    build = subprocess.run(
        ["gcc", "-std=c99", "-D_GNU_SOURCE", "-O2", f"-I{csrc}",
         os.path.join(ROOT, "tests", "native", "rt_driver.c"),
         *[os.path.join(csrc, f) for f in ("stream.c", "spade.c", "select.c", "planner.c")],
         "-rdynamic", "-lfftw3_threads", "-lfftw3", "-lm", "-lpthread", "-ldl", "-o", str(exe)],
        capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    r = subprocess.run([str(exe)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("allocations 0 frees 0 locks 0") == 3
    assert "nonfinite outputs 0" in r.stdout
