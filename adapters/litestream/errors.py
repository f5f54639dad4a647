"""Typed failures of the litestream adapter (each says what to do next)."""

from __future__ import annotations


class LitestreamError(Exception):
    """Base of every litestream adapter error."""


class LitestreamConfigError(LitestreamError, ValueError):
    """A configuration value litestream would not run, or that we refuse."""


class LitestreamOutputError(LitestreamError):
    """litestream printed something that is not the JSON we expect."""


class LitestreamCommandError(LitestreamError):
    """A litestream command exited non-zero."""


class LitestreamTimeout(LitestreamError):
    """A litestream command did not finish within its budget (killed)."""


class ReplicaMissingError(LitestreamError):
    """A replica was expected but holds no backup: never start on an empty database."""


class RestoreVerificationError(LitestreamError):
    """The restored copy failed verification (integrity check, schema)."""
