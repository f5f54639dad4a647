"""Typed failures of the Gluster adapter."""

from __future__ import annotations


class GlusterError(Exception):
    """Base of every Gluster adapter error."""


class GlusterXmlError(GlusterError):
    """The CLI printed something that is not the XML document we expect."""


class GlusterOpError(GlusterError):
    """The CLI said the operation failed (``opRet`` != 0): its exit code may be 0."""

    def __init__(self, op_ret: int, op_errno: int, op_errstr: str) -> None:
        super().__init__(
            f"gluster: opRet {op_ret}, opErrno {op_errno}: {op_errstr or '(no message)'}"
        )
        self.op_ret = op_ret
        self.op_errno = op_errno
        self.op_errstr = op_errstr
