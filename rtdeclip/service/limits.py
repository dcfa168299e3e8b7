"""Service limits, set from ``rtdeclip serve`` options."""
from dataclasses import dataclass


@dataclass
class Limits:
    max_upload_mb: float = 200.0      # whole request body (413 above)
    max_duration_s: float = 1800.0    # audio duration of the clipped input (413 above)
    max_queued: int = 20              # a user's jobs not yet finished (429 above)
    max_files: int = 8                # files[i] parts per job
    max_fields: int = 32              # form fields per job
    purge_after_h: float = 168.0      # finished jobs and their files are deleted after this

    @property
    def max_upload_bytes(self):
        return int(self.max_upload_mb * 1024 * 1024)
