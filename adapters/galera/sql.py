"""One PyMySQL connection with deadlines, its failures mapped to typed reasons.

Every connection has a connect *and* a read/write timeout: PyMySQL reads the
server greeting with the read timeout, so without one a server that accepts
and never answers would hang the agent. Messages never carry the password.
"""

from __future__ import annotations

import enum
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymysql
import pymysql.err

from adapters.galera.credentials import Credentials

ACCESS_DENIED = 1045
NOT_READY = 1047  # WSREP has not yet prepared node for application use


class Unavailable(enum.StrEnum):
    TIMEOUT = "timeout"
    REFUSED = "refused"  # nothing listens (socket missing, connection refused)
    AUTH = "auth"  # the server answered but refused these credentials
    NOT_READY = "not-ready"  # wsrep_ready=OFF: the node is up but not serving
    ERROR = "error"  # any other server or protocol error


@dataclass(frozen=True, slots=True)
class Endpoint:
    socket: Path | None = None
    host: str = ""
    port: int = 3306

    def __str__(self) -> str:
        return f"unix:{self.socket}" if self.socket is not None else f"{self.host}:{self.port}"


class SqlUnavailable(Exception):
    def __init__(self, kind: Unavailable, endpoint: Endpoint, detail: str) -> None:
        self.kind = kind
        self.endpoint = endpoint
        self.detail = detail
        super().__init__(f"{endpoint}: {kind}: {detail}")


def _classify(exc: BaseException, endpoint: Endpoint, timeout: float) -> SqlUnavailable:
    late = f"no answer within {timeout} s"
    if isinstance(exc, pymysql.err.MySQLError) and exc.args and isinstance(exc.args[0], int):
        code = exc.args[0]
        if code == ACCESS_DENIED:
            return SqlUnavailable(Unavailable.AUTH, endpoint, "access denied for these credentials")
        if code == NOT_READY:
            return SqlUnavailable(Unavailable.NOT_READY, endpoint, "wsrep not ready (error 1047)")
        if code in (2003, 2013):
            cause = getattr(exc, "original_exception", None) or exc.__cause__ or exc.__context__
            if isinstance(cause, TimeoutError | socket.timeout) or "timed out" in str(exc):
                return SqlUnavailable(
                    Unavailable.TIMEOUT, endpoint, f"no answer within {timeout} s"
                )
            if isinstance(cause, ConnectionRefusedError | FileNotFoundError):
                return SqlUnavailable(Unavailable.REFUSED, endpoint, "connection refused")
            if code == 2003:
                return SqlUnavailable(Unavailable.REFUSED, endpoint, "cannot connect")
            return SqlUnavailable(Unavailable.ERROR, endpoint, "connection lost during query")
        return SqlUnavailable(Unavailable.ERROR, endpoint, f"server error {code}")
    if isinstance(exc, TimeoutError | socket.timeout):
        return SqlUnavailable(Unavailable.TIMEOUT, endpoint, late)
    if isinstance(exc, ConnectionRefusedError | FileNotFoundError):
        return SqlUnavailable(Unavailable.REFUSED, endpoint, "connection refused")
    return SqlUnavailable(Unavailable.ERROR, endpoint, type(exc).__name__)


def connect(endpoint: Endpoint, creds: Credentials, timeout: float) -> pymysql.Connection[Any]:
    try:
        return pymysql.connect(
            unix_socket=str(endpoint.socket) if endpoint.socket is not None else None,
            host=endpoint.host or "localhost",
            port=endpoint.port,
            user=creds.user,
            password=creds.password,
            connect_timeout=timeout,
            read_timeout=timeout,
            write_timeout=timeout,
            autocommit=True,
        )
    except Exception as exc:  # garbage from the peer can raise anything (struct.error...)
        raise _classify(exc, endpoint, timeout) from None


def query(
    endpoint: Endpoint, creds: Credentials, sql: str, timeout: float, args: Any = None
) -> list[tuple[Any, ...]]:
    """Run one statement on a fresh connection; rows as tuples. SqlUnavailable on failure."""
    conn = connect(endpoint, creds, timeout)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, args)
            return [tuple(r) for r in cur.fetchall()]
    except Exception as exc:  # as in connect: never a traceback for a bad answer
        raise _classify(exc, endpoint, timeout) from None
    finally:
        try:
            conn.close()
        except (pymysql.err.MySQLError, OSError):
            pass
