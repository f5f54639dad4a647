"""litestream.yml rendering and the strict parsers of litestream's JSON outputs.

The good samples are what litestream 0.5.17 printed here (restore -json,
sync -json, status -json on a file replica)."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.litestream.config import LitestreamConfig, render
from adapters.litestream.errors import LitestreamConfigError, LitestreamOutputError
from adapters.litestream.outputs import parse_ltx, parse_restore, parse_status, parse_sync

RESTORE = """{
  "db_path": "/tmp/i11x/out.sqlite",
  "replica": "file",
  "txid": "0000000000000001",
  "duration_ms": 14,
  "integrity_check": "none"
}"""
SYNC = '{"db_path": "/tmp/i11x/db.sqlite", "txid": 2, "replica_txid": 2, "duration_ms": 5}'
STATUS = """[{"database": "/tmp/i11x/db.sqlite", "status": "ok",
  "local_txid": "00000000000000ff", "wal_size": "16 kB"}]"""


def _config(**kw: object) -> LitestreamConfig:
    base: dict[str, object] = {
        "database": Path("/srv/k3s/state.db"),
        "replica_dir": Path("/srv/replica"),
        "socket": Path("/run/hacore/litestream.sock"),
    }
    base.update(kw)
    return LitestreamConfig(**base)  # type: ignore[arg-type]


def test_render_carries_both_intervals_and_quotes_paths() -> None:
    text = render(_config(monitor_interval_ms=100, sync_interval_ms=250))
    assert "    monitor-interval: 100ms\n" in text
    assert "      sync-interval: 250ms\n" in text
    assert '  - path: "/srv/k3s/state.db"\n' in text
    assert '      path: "/srv/replica"\n' in text


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("database", Path("state.db"), "not an absolute path"),
        ("replica_dir", Path("/srv/../replica"), "not normalized"),
        ("socket", Path("/run/a\nb"), "control character"),
        ("monitor_interval_ms", 0, "outside"),
        ("sync_interval_ms", 60_001, "outside"),
        ("monitor_interval_ms", True, "not an integer"),
        ("replica_dir", Path("/srv/k3s"), "must not be the database"),
        ("restore_dir", Path("replica-b"), "not an absolute path"),
        ("restore_dir", Path("/srv/k3s"), "must not be the database"),
    ],
)
def test_bad_config_values_are_typed_errors(field: str, value: object, message: str) -> None:
    with pytest.raises(LitestreamConfigError, match=message):
        _config(**{field: value})


def test_good_outputs_parse_to_positions() -> None:
    r = parse_restore(RESTORE)
    assert (r.db_path, r.replica, r.txid, r.integrity_check) == (
        "/tmp/i11x/out.sqlite",
        "file",
        1,
        "none",
    )
    s = parse_sync(SYNC)
    assert (s.txid, s.replica_txid) == (2, 2)
    (st,) = parse_status(STATUS)
    assert (st.database, st.status, st.local_txid) == ("/tmp/i11x/db.sqlite", "ok", 255)


@pytest.mark.parametrize(
    ("parse", "text", "message"),
    [
        (parse_restore, "", "not JSON"),
        (parse_restore, "[1]", "expected a JSON object"),
        (parse_restore, RESTORE.replace('"0000000000000001"', "1"), "not a string"),
        (parse_restore, RESTORE.replace("0000000000000001", "00000001"), "16-hex-digit"),
        (parse_restore, RESTORE.replace("0000000000000001", "000000000000000G"), "16-hex-digit"),
        (parse_restore, RESTORE.replace('"db_path"', '"path"'), "'db_path' missing"),
        (parse_sync, SYNC.replace('"txid": 2', '"txid": "2"'), "not a count"),
        (parse_sync, SYNC.replace('"txid": 2', '"txid": -1'), "not a count"),
        (parse_sync, SYNC.replace('"replica_txid": 2', '"replica_txid": true'), "not a count"),
        (parse_sync, "[" * 100_000, "not JSON"),
        (parse_status, "{}", "expected a JSON list"),
        (parse_status, "[3]", "expected a JSON object"),
        (parse_status, STATUS.replace('"ok"', "null"), "'status' missing"),
    ],
)
def test_bad_outputs_are_typed_errors(parse: object, text: str, message: str) -> None:
    assert callable(parse)
    with pytest.raises(LitestreamOutputError, match=message):
        parse(text)


# `litestream ltx -json -level all file://REPLICA` as 0.5.17 printed it here.
LTX_OUTPUT = """[
  {"level": 0, "min_txid": "0000000000000001", "max_txid": "0000000000000001",
   "size": 1325, "timestamp": "2026-12-01T23:55:56Z"},
  {"level": 1, "min_txid": "0000000000000001", "max_txid": "0000000000000002",
   "size": 663, "timestamp": "2026-12-01T23:55:59Z"}
]"""


def test_ltx_listing_parses_and_an_empty_replica_is_an_empty_list() -> None:
    files = parse_ltx(LTX_OUTPUT)
    assert [(f.level, f.min_txid, f.max_txid) for f in files] == [(0, 1, 1), (1, 1, 2)]
    assert parse_ltx("[]") == ()


@pytest.mark.parametrize(
    "text",
    [
        "{}",
        '[{"level": 0, "min_txid": "1", "max_txid": "0000000000000001", "size": 1,'
        ' "timestamp": "t"}]',
        '[{"level": -1, "min_txid": "0000000000000001", "max_txid": "0000000000000001",'
        ' "size": 1, "timestamp": "t"}]',
        '[{"level": 0, "min_txid": "0000000000000002", "max_txid": "0000000000000001",'
        ' "size": 1, "timestamp": "t"}]',
        '[{"level": 0, "min_txid": "0000000000000001", "max_txid": "0000000000000001", "size": 1}]',
    ],
)
def test_bad_ltx_listings_are_typed_errors(text: str) -> None:
    with pytest.raises(LitestreamOutputError):
        parse_ltx(text)


def test_a_promotion_restores_from_the_peers_replica_and_the_lag_measures_its_own() -> None:
    own = _config(restore_dir=Path("/srv/replica-peer"))
    assert own.replica_url == "file:///srv/replica"
    assert own.restore_url == "file:///srv/replica-peer"
    assert _config().restore_url == _config().replica_url  # unset: the one replica
