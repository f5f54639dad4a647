"""Strict parsers of litestream 0.5's ``-json`` outputs.

Every field we use must be there with its type; txids are 16 hex digits in
``restore``/``status``/``ltx`` but an integer in ``sync`` (measured on 0.5.17).
Anything else is a :class:`LitestreamOutputError`, never a guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from adapters.litestream.errors import LitestreamOutputError
from hacore.codec import JsonError, parse_json

_HEX_TXID = re.compile(r"[0-9a-f]{16}")


@dataclass(frozen=True, slots=True)
class RestoreSummary:
    db_path: str
    replica: str
    txid: int
    integrity_check: str


@dataclass(frozen=True, slots=True)
class SyncSummary:
    db_path: str
    txid: int  # the local position
    replica_txid: int  # what the replica holds


@dataclass(frozen=True, slots=True)
class DatabaseStatus:
    database: str
    status: str
    local_txid: int


def _load(text: str, what: str) -> object:
    try:
        return parse_json(text)
    except JsonError as exc:
        raise LitestreamOutputError(f"{what}: not JSON ({exc})") from None


def _obj(value: object, what: str) -> dict[str, object]:
    if not isinstance(value, dict):
        raise LitestreamOutputError(f"{what}: expected a JSON object, got {type(value).__name__}")
    return value


def _str(obj: dict[str, object], key: str, what: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        raise LitestreamOutputError(f"{what}: {key!r} missing or not a string ({value!r})")
    return value


def _int(obj: dict[str, object], key: str, what: str) -> int:
    value = obj.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise LitestreamOutputError(f"{what}: {key!r} missing or not a count ({value!r})")
    return value


def _hex_txid(obj: dict[str, object], key: str, what: str) -> int:
    text = _str(obj, key, what)
    if not _HEX_TXID.fullmatch(text):
        raise LitestreamOutputError(f"{what}: {key!r} is not a 16-hex-digit txid ({text!r})")
    return int(text, 16)


def parse_restore(text: str) -> RestoreSummary:
    what = "litestream restore -json"
    obj = _obj(_load(text, what), what)
    return RestoreSummary(
        db_path=_str(obj, "db_path", what),
        replica=_str(obj, "replica", what),
        txid=_hex_txid(obj, "txid", what),
        integrity_check=_str(obj, "integrity_check", what),
    )


def parse_sync(text: str) -> SyncSummary:
    what = "litestream sync -json"
    obj = _obj(_load(text, what), what)
    return SyncSummary(
        db_path=_str(obj, "db_path", what),
        txid=_int(obj, "txid", what),
        replica_txid=_int(obj, "replica_txid", what),
    )


def parse_status(text: str) -> tuple[DatabaseStatus, ...]:
    what = "litestream status -json"
    raw = _load(text, what)
    if not isinstance(raw, list):
        raise LitestreamOutputError(f"{what}: expected a JSON list, got {type(raw).__name__}")
    out = []
    for i, item in enumerate(raw):
        obj = _obj(item, f"{what}[{i}]")
        out.append(
            DatabaseStatus(
                database=_str(obj, "database", what),
                status=_str(obj, "status", what),
                local_txid=_hex_txid(obj, "local_txid", what),
            )
        )
    return tuple(out)


@dataclass(frozen=True, slots=True)
class LtxFile:
    level: int
    min_txid: int
    max_txid: int
    size: int


def parse_ltx(text: str) -> tuple[LtxFile, ...]:
    """``litestream ltx -json``: the LTX files a replica (or the local state) holds."""
    what = "litestream ltx -json"
    raw = _load(text, what)
    if not isinstance(raw, list):
        raise LitestreamOutputError(f"{what}: expected a JSON list, got {type(raw).__name__}")
    out = []
    for i, item in enumerate(raw):
        where = f"{what}[{i}]"
        obj = _obj(item, where)
        _str(obj, "timestamp", where)
        f = LtxFile(
            level=_int(obj, "level", where),
            min_txid=_hex_txid(obj, "min_txid", where),
            max_txid=_hex_txid(obj, "max_txid", where),
            size=_int(obj, "size", where),
        )
        if f.min_txid > f.max_txid:
            raise LitestreamOutputError(f"{where}: min_txid above max_txid")
        out.append(f)
    return tuple(out)
