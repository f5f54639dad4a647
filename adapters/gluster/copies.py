"""Reading one brick's copy of a volume entry, to quarantine it.

Two ways, because a split-brain has two kinds (adapters/gluster/split_brain.py):

* :func:`read_local_brick`: this node's own brick, read on its backend
  directory (a path entry, or ``<gfid:UUID>`` through ``.glusterfs``): works
  for every kind, but only for the local brick;
* :func:`read_through_mount`: any brick's copy of a *data* split-brain file,
  read through this node's FUSE mount after ``replica.split-brain-choice``
  names that brick's client (the documented way to inspect the copies from a
  client). A gfid split-brain cannot be read this way (EIO): :class:`Unreadable`.
  A FUSE read of a hung volume can block in the kernel, so it runs in a child
  process with a budget, killed when the budget runs out.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from collections.abc import Sequence
from pathlib import Path

from adapters.bounded_command import run_bounded
from adapters.gluster.cli import GlusterTimeout
from adapters.gluster.errors import GlusterError

MAX_COPY = 64 << 20  # bytes: a larger file is refused, not silently truncated
_GFID = re.compile(r"<gfid:([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})>")


class Unreadable(GlusterError):
    """This copy cannot be read from here (so it cannot be quarantined from here)."""


class NotSplit(GlusterError):
    """The mount says this file is in no data or metadata split-brain."""


class NotAFile(GlusterError):
    """The entry is a directory or another non-regular file: no content to keep."""


def _inside(entry: str) -> str:
    """``entry`` ("/a/b") as a relative path that stays inside the brick."""
    parts = [p for p in entry.split("/") if p]
    if not entry.startswith("/") or not parts or any(p in (".", "..") for p in parts):
        raise Unreadable(f"{entry!r} is not a path inside the volume")
    return "/".join(parts)


def local_path(brick_path: Path, entry: str) -> Path:
    match = _GFID.fullmatch(entry)
    if match:
        gfid = match.group(1)
        return brick_path / ".glusterfs" / gfid[0:2] / gfid[2:4] / gfid
    return brick_path / _inside(entry)


def read_local_brick(brick_path: Path, entry: str) -> bytes:
    if entry == "/":
        raise NotAFile("/: the volume's root directory")
    path = local_path(brick_path, entry)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        raise NotAFile(f"{entry}: not on this brick ({path})") from None
    except OSError as exc:
        if os.path.islink(path):
            raise NotAFile(f"{entry}: a symbolic link on the brick") from None
        raise Unreadable(f"{entry}: {path}: {exc.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotAFile(f"{entry}: not a regular file on the brick")
        if st.st_size > MAX_COPY:
            raise Unreadable(f"{entry}: {st.st_size} bytes, over the quarantine's {MAX_COPY}")
        with os.fdopen(fd, "rb") as f:
            fd = -1
            return f.read(MAX_COPY + 1)
    finally:
        if fd >= 0:
            os.close(fd)


# Run in the child: check the file is in a data split-brain, choose the
# brick, read, always drop the choice again. Exit 3: not in split-brain.
_READ_CHOSEN = """
import os, sys
path, choice, cap = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3])
status = os.getxattr(path, "replica.split-brain-status")
if b"data-split-brain:yes" not in status and b"metadata-split-brain:yes" not in status:
    sys.stderr.write(status.decode(errors="replace") + "\\n")
    sys.exit(3)
os.setxattr(path, "replica.split-brain-choice", choice)
try:
    with open(path, "rb") as f:
        data = f.read(cap + 1)
finally:
    os.setxattr(path, "replica.split-brain-choice", b"none")
sys.stdout.buffer.write(data)
"""


def read_through_mount(
    launcher: Sequence[str], mount: str, entry: str, client: str, *, timeout_s: float
) -> bytes:
    """``client``'s (``VOL-client-N``) copy of ``entry`` through the mount at ``mount``."""
    if timeout_s <= 0:
        raise GlusterTimeout(f"read {entry} through the mount: no time left")
    path = os.path.join(mount, _inside(entry))
    argv = [*launcher, sys.executable, "-I", "-S", "-c", _READ_CHOSEN, path, client, str(MAX_COPY)]
    finished = run_bounded(argv, timeout_s=timeout_s)
    if finished is None:
        raise GlusterTimeout(f"read {entry} ({client}) through the mount: no answer in time")
    if finished.returncode == 3:
        raise NotSplit(f"{entry}: the mount says it is in no data split-brain")
    if finished.returncode != 0:
        why = finished.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["?"]
        raise Unreadable(f"{entry} ({client}) through the mount: {why[0][:200]}")
    if len(finished.stdout) > MAX_COPY:
        raise Unreadable(f"{entry}: over the quarantine's {MAX_COPY} bytes")
    return finished.stdout
