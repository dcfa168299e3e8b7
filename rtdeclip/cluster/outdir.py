"""The output folder of a batch: one batch at a time (a lock file), stale
temporaries of killed runs removed, outputs written atomically, and a
marker that lets a Dask worker tell whether it sees this same folder.

An output exists only once complete (every writer renames a finished
temporary into place), so "the output exists" is "this file is done":
that is what makes a batch resumable after Ctrl-C, kill -9 or a crash.
"""
import fcntl
import os
import secrets
import tempfile
import time

from rtdeclip.errors import FileError

LOCK_NAME = ".rtdeclip-batch.lock"
MARKER_NAME = ".rtdeclip-batch.id"
# a temporary untouched this long is left over by a killed process (a live
# writer appends every chunk, i.e. every second or so)
STALE_AFTER_S = 600


class OutputFolder:
    def __init__(self, path):
        self.path = os.path.abspath(path)
        self._lock = None
        self.token = None

    def open(self):
        """Create the folder, take the lock, write the marker."""
        try:
            os.makedirs(self.path, exist_ok=True)
        except OSError as e:
            raise FileError(f"{self.path}: cannot create the output folder "
                            f"({e.strerror})") from None
        if not os.access(self.path, os.W_OK):
            raise FileError(f"{self.path}: cannot write in the output folder")
        f = open(os.path.join(self.path, LOCK_NAME), "a")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.close()
            raise FileError(f"{self.path}: another rtdeclip batch is writing here") from None
        self._lock = f
        self.token = secrets.token_hex(16)
        write_bytes_atomic(os.path.join(self.path, MARKER_NAME), self.token.encode())
        return self

    def remove_stale_temporaries(self, older_than_s=STALE_AFTER_S):
        """Hidden ``.rtdeclip-*.part`` files a SIGKILLed writer left behind
        (never a finished output: those have no such name)."""
        removed = 0
        now = time.time()
        for folder, dirs, files in os.walk(self.path):
            for name in files:
                if name.startswith(".rtdeclip-") and name.endswith(".part"):
                    p = os.path.join(folder, name)
                    try:
                        if now - os.stat(p).st_mtime > older_than_s:
                            os.unlink(p)
                            removed += 1
                    except OSError:
                        pass   # gone meanwhile
        return removed

    def close(self):
        if self._lock is not None:
            self._lock.close()   # releases the flock
            self._lock = None

    def __enter__(self):
        return self.open()

    def __exit__(self, *exc):
        self.close()
        return False


def sees_marker(folder, token):
    """True when ``folder`` is the batch's output folder as the client
    sees it (same marker), i.e. the two share storage."""
    try:
        with open(os.path.join(folder, MARKER_NAME), "rb") as f:
            return f.read().decode() == token
    except (OSError, UnicodeDecodeError):
        return False


def write_bytes_atomic(path, data):
    """``data`` to ``path``: complete or not at all (temporary + rename)."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".rtdeclip-", suffix=".part", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
