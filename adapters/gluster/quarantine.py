"""Copies of files a split-brain resolution may replace, set aside first.

A copy is kept once per (volume entry, brick, content): its bytes go to
``ROOT/copies/SHA256`` (written to a temporary name, fsynced, renamed), and a
receipt line (entry, brick, sha256, size, the operation's key) is appended to
``ROOT/receipts.jsonl``. A second quarantine of the same content finds its
receipt and copies nothing (the port contract: idempotent). The directory is
created 0700 and must be ours: a directory or receipt file another user can
write is refused (a planted receipt could make us skip a copy).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from adapters.gluster.errors import GlusterError

RECEIPTS = "receipts.jsonl"


class QuarantineError(GlusterError):
    """The quarantine directory cannot be trusted or written."""


@dataclass(frozen=True, slots=True)
class Receipt:
    entry: str  # the volume's path ("/dir/file") or "<gfid:...>"
    brick: str  # host:path whose copy this is
    sha256: str
    size: int
    key: str


def _check_ours(path: Path, what: str) -> None:
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        raise QuarantineError(f"{what} {path} is a symbolic link: refused")
    if st.st_uid != os.geteuid() or st.st_mode & 0o022:
        raise QuarantineError(f"{what} {path} is not ours alone (owner or mode): refused")


class Quarantine:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _open(self) -> Path:
        for d in (self.root, self.root / "copies"):
            try:
                d.mkdir(mode=0o700, parents=d is self.root)
            except FileExistsError:
                pass
            _check_ours(d, "quarantine directory")
        receipts = self.root / RECEIPTS
        if receipts.exists() or receipts.is_symlink():
            _check_ours(receipts, "quarantine receipts")
        return receipts

    def receipts(self) -> list[Receipt]:
        receipts = self._open()
        if not receipts.exists():
            return []
        out = []
        for n, line in enumerate(receipts.read_text().splitlines(), start=1):
            try:
                raw = json.loads(line)
                out.append(Receipt(**raw))
            except (ValueError, TypeError) as exc:
                raise QuarantineError(f"{receipts}:{n}: not a receipt ({exc})") from None
        return out

    def holds(self, entry: str, brick: str, content: bytes) -> bool:
        digest = hashlib.sha256(content).hexdigest()
        return any(
            r.entry == entry and r.brick == brick and r.sha256 == digest for r in self.receipts()
        )

    def keep(self, entry: str, brick: str, content: bytes, key: str) -> bool:
        """Set ``content`` aside as ``brick``'s copy of ``entry``; False when it
        already was (nothing copied)."""
        receipts = self._open()
        digest = hashlib.sha256(content).hexdigest()
        if self.holds(entry, brick, content):
            return False
        target = self.root / "copies" / digest
        if not target.exists():
            tmp = target.with_name(f".{digest}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(content)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        line = json.dumps(
            {"entry": entry, "brick": brick, "sha256": digest, "size": len(content), "key": key},
            sort_keys=True,
        )
        fd = os.open(receipts, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "a") as f:
            f.write(line + "\n")
            f.flush()
            os.fsync(f.fileno())
        return True

    def copy_of(self, receipt: Receipt) -> bytes:
        return (self.root / "copies" / receipt.sha256).read_bytes()
