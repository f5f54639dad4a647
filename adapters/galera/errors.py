"""Typed errors of the Galera adapter. Messages name the file and line, never a secret."""

from __future__ import annotations

from pathlib import Path


class GaleraError(RuntimeError):
    """Base of every error the Galera adapter raises on purpose."""


class StateFileError(GaleraError):
    """grastate.dat or the error log's recovered position is corrupt, truncated or absent."""

    def __init__(self, path: Path | str, line: int | None, problem: str) -> None:
        self.path = str(path)
        self.line = line
        self.problem = problem
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {problem}")


class CredentialsError(GaleraError):
    """The secret or option file is unusable (missing, unsafe permissions, malformed)."""


class ServerError(GaleraError):
    """mariadbd could not be started, recovered or stopped as asked."""


class QuarantineError(GaleraError):
    """The quarantine dump failed or its receipt is missing: nothing may be discarded."""
