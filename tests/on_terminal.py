"""Run the command-line tool with its stderr on a pseudo-terminal, as a user
at a terminal sees it (rich's progress bars and colours appear only there)."""
import os
import pty
import subprocess
import sys


def run_on_terminal(*args, cwd=None, env=None, timeout=600):
    """``python -m rtdeclip *args`` with stderr on a pty: (exit code, bytes seen)."""
    master, slave = pty.openpty()
    p = subprocess.Popen([sys.executable, "-m", "rtdeclip", *map(str, args)], stderr=slave,
                         stdout=subprocess.DEVNULL, cwd=cwd, env=env)
    os.close(slave)
    seen = b""
    while True:
        try:
            got = os.read(master, 4096)
        except OSError:     # the child closed its end
            break
        if not got:
            break
        seen += got
    rc = p.wait(timeout=timeout)
    os.close(master)
    return rc, seen
