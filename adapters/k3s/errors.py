"""Typed failures of the k3s adapter."""

from __future__ import annotations


class K3sError(Exception):
    """Base of the k3s adapter's errors."""


class K3sPidRecordError(K3sError):
    """Our PID record of the server is there but unreadable or malformed.

    It is never read as "not running": that could start a second server next
    to one still serving the datastore. The operator inspects the record (and
    the process it names) and removes it.
    """
