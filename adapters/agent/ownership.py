"""Is a file or directory the agent's alone? (Never trust one another user can write.)"""

from __future__ import annotations

import os
import stat


def not_ours(st: os.stat_result) -> str | None:
    """Why the object behind ``st`` (an ``lstat``) is not safe to trust, or None:
    another owner, or write permission for group or others."""
    if st.st_uid != os.geteuid():
        return f"owned by uid {st.st_uid}, not by this user"
    if st.st_mode & 0o022:
        return f"writable by group or others (mode {stat.S_IMODE(st.st_mode):04o})"
    return None
