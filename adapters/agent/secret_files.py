"""Secrets from files named in the configuration, refused unless only we can read them.

A secret file must be a regular file owned by the agent's user with no
group or other permission bits (mode 0600 or stricter), opened without
following a symlink. Values are wrapped in :class:`Secret`, whose ``repr``
and ``str`` never show the value, so a secret that reaches a log line or a
traceback shows as ``<secret from FILE>``.
"""

from __future__ import annotations

import os
import stat

import attrs

from adapters.agent.config import AgentConfig

MIN_PEER_KEY_BYTES = 32
MAX_SECRET_BYTES = 64 * 1024


class SecretFileError(ValueError):
    """A secret file is missing, unsafe or unusable (the message names it, never its value)."""


@attrs.frozen(repr=False)
class Secret:
    source: str
    value: bytes = attrs.field(eq=False)

    def __repr__(self) -> str:
        return f"<secret from {self.source}>"

    __str__ = __repr__

    def text(self) -> str:
        """The value as text (for a library that wants a str password)."""
        return self.value.decode("utf-8", "replace")


@attrs.frozen
class Secrets:
    peer_key: Secret
    galera_password: Secret | None


def read_secret(path: str, what: str) -> Secret:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        raise SecretFileError(f"{what} {path}: cannot open: {exc.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise SecretFileError(f"{what} {path}: not a regular file")
        if st.st_uid != os.geteuid():
            raise SecretFileError(
                f"{what} {path}: owned by uid {st.st_uid}, not by this user ({os.geteuid()})"
            )
        if st.st_mode & 0o077:
            raise SecretFileError(
                f"{what} {path}: mode {stat.S_IMODE(st.st_mode):04o}, must be 0600 (chmod 600)"
            )
        data = os.read(fd, MAX_SECRET_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_SECRET_BYTES:
        raise SecretFileError(f"{what} {path}: larger than {MAX_SECRET_BYTES} bytes")
    value = data.strip()
    if not value:
        raise SecretFileError(f"{what} {path}: empty")
    return Secret(path, value)


def load_secrets(config: AgentConfig) -> Secrets:
    key = read_secret(config.peer.key_file, "peer.key_file")
    if len(key.value) < MIN_PEER_KEY_BYTES:
        raise SecretFileError(
            f"peer.key_file {key.source}: {len(key.value)} bytes, need at least "
            f"{MIN_PEER_KEY_BYTES} (e.g. `head -c 48 /dev/urandom | base64 > FILE`)"
        )
    password = None
    if config.galera.password_file is not None:
        password = read_secret(config.galera.password_file, "galera.password_file")
    return Secrets(key, password)
