"""Credentials for the probe and the operations: from a secret file or a MySQL option file.

The password never appears in a log line, an error message or a repr. A file
another user can write (or read) is refused: whoever can write it chooses what
we log in with, whoever can read it has the password.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from adapters.galera.errors import CredentialsError


@dataclass(frozen=True, slots=True)
class Credentials:
    user: str
    password: str = field(repr=False)

    def __repr__(self) -> str:
        return f"Credentials(user={self.user!r}, password=<hidden>)"


def _read_private(path: Path, what: str) -> str:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        raise CredentialsError(f"{what} {path}: does not exist") from None
    except OSError as exc:
        raise CredentialsError(f"{what} {path}: cannot open ({exc.strerror})") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise CredentialsError(f"{what} {path}: not a regular file")
        if st.st_uid not in (0, os.geteuid()):
            raise CredentialsError(
                f"{what} {path}: owned by uid {st.st_uid}, not by root or us; refusing it"
            )
        if st.st_mode & 0o077:
            raise CredentialsError(
                f"{what} {path}: mode {stat.S_IMODE(st.st_mode):04o} lets other users "
                "read or write it; chmod 600 it"
            )
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(65536)
    finally:
        os.close(fd)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise CredentialsError(f"{what} {path}: not UTF-8 text") from None


def from_secret_file(path: Path, user: str) -> Credentials:
    """The password is the file's first line (a trailing newline is not part of it)."""
    if not user:
        raise CredentialsError("credentials: a user name is required with a secret file")
    text = _read_private(path, "secret file")
    password = text.split("\n", 1)[0].rstrip("\r")
    if not password:
        raise CredentialsError(f"secret file {path}: empty first line (no password)")
    return Credentials(user, password)


def from_option_file(path: Path, section: str = "client") -> Credentials:
    """``user`` and ``password`` of one section of a MySQL option file (``[client]``)."""
    text = _read_private(path, "option file")
    current: str | None = None
    values: dict[str, str] = {}
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            if not line.endswith("]"):
                raise CredentialsError(f"option file {path}:{number}: unclosed section header")
            current = line[1:-1].strip()
            continue
        if current != section:
            continue
        key, sep, value = line.partition("=")
        key = key.strip().replace("_", "-")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        if key in ("user", "password"):
            if not sep:
                raise CredentialsError(f"option file {path}:{number}: {key} without a value")
            values[key] = value
    if "user" not in values:
        raise CredentialsError(f"option file {path}: no user in section [{section}]")
    return Credentials(values["user"], values.get("password", ""))
