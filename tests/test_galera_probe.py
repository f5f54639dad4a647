"""The probe without a server: refused, hanging and garbled answers are uncertain, fast."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.galera.credentials import Credentials, from_option_file, from_secret_file
from adapters.galera.errors import CredentialsError
from adapters.galera.probe import BadStatus, parse_status, probe
from adapters.galera.sql import Endpoint, Unavailable

CREDS = Credentials("hacore", "s3cret-never-shown")
UUID = "8bd8c5a0-a1f5-11ee-8b6e-2f0e1c6a8f21"
ROWS: list[tuple[object, ...]] = [
    ("wsrep_cluster_size", "2"),
    ("wsrep_cluster_status", "Primary"),
    ("wsrep_ready", "ON"),
    ("wsrep_connected", "ON"),
    ("wsrep_local_state_comment", "Synced"),
    ("wsrep_last_committed", "17"),
    ("wsrep_cluster_state_uuid", UUID),
    ("wsrep_provider_name", "Galera"),
]


def test_status_rows_parse_strictly() -> None:
    s = parse_status(ROWS)
    assert (s.cluster_size, s.primary, s.ready, s.synced, s.last_committed) == (
        2,
        True,
        True,
        True,
        17,
    )
    non_primary = parse_status(
        [(k, "non-Primary" if k == "wsrep_cluster_status" else v) for k, v in ROWS]
    )
    assert not non_primary.member and not non_primary.synced
    cases: list[tuple[list[tuple[object, ...]], str]] = [
        ([r for r in ROWS if r[0] != "wsrep_ready"], "missing wsrep_ready"),
        ([(k, "maybe" if k == "wsrep_ready" else v) for k, v in ROWS], "not ON or OFF"),
        ([(k, "x" if k == "wsrep_cluster_size" else v) for k, v in ROWS], "not an integer"),
        ([(k, "zz" if k == "wsrep_cluster_state_uuid" else v) for k, v in ROWS], "not a UUID"),
    ]
    for bad, words in cases:
        with pytest.raises(BadStatus, match=words):
            parse_status(bad)


def test_refused_socket_is_uncertain_not_absent(tmp_path: Path) -> None:
    obs = probe(Endpoint(socket=tmp_path / "nothing.sock"), CREDS, timeout=1.0)
    assert not obs.certain and obs.uncertain is Unavailable.REFUSED
    assert obs.progress(at=1) is None
    assert "uncertain" in obs.describe() and "s3cret" not in obs.describe()


@pytest.fixture
def hanging_server(tmp_path: Path) -> Iterator[Path]:
    """A unix socket that accepts and never says a word (a hung mariadbd)."""
    path = tmp_path / "hang.sock"
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(str(path))
    srv.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        srv.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(srv.accept()[0])
            except TimeoutError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield path
    stop.set()
    t.join(2)
    for c in held:
        c.close()
    srv.close()


def test_a_hanging_server_times_out_within_the_budget(hanging_server: Path) -> None:
    t0 = time.monotonic()
    obs = probe(Endpoint(socket=hanging_server), CREDS, timeout=0.5)
    elapsed = time.monotonic() - t0
    assert obs.uncertain is Unavailable.TIMEOUT, obs
    assert elapsed < 5  # bounded (generous: the machine is shared)


def test_a_garbled_server_is_uncertain(tmp_path: Path) -> None:
    path = tmp_path / "garbled.sock"
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(str(path))
    srv.listen(1)

    def answer() -> None:
        conn = srv.accept()[0]
        conn.sendall(b"\x05\x00\x00\x00garbage-not-a-handshake")
        conn.close()

    t = threading.Thread(target=answer, daemon=True)
    t.start()
    obs = probe(Endpoint(socket=path), CREDS, timeout=1.0)
    t.join(2)
    srv.close()
    assert not obs.certain and obs.uncertain in (Unavailable.ERROR, Unavailable.REFUSED)


def _private(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    os.chmod(path, mode)
    return path


def test_secret_file_rules(tmp_path: Path) -> None:
    c = from_secret_file(_private(tmp_path / "pw", "s3cret-never-shown\n"), "hacore")
    assert c.password == "s3cret-never-shown"
    assert "s3cret" not in repr(c) and "hidden" in repr(c)
    with pytest.raises(CredentialsError, match="mode 0644") as info:
        from_secret_file(_private(tmp_path / "open", "s3cret-never-shown\n", 0o644), "hacore")
    assert "s3cret" not in str(info.value)
    with pytest.raises(CredentialsError, match="does not exist"):
        from_secret_file(tmp_path / "absent", "hacore")
    with pytest.raises(CredentialsError, match="empty first line"):
        from_secret_file(_private(tmp_path / "empty", "\n"), "hacore")
    os.symlink(tmp_path / "pw", tmp_path / "link")
    with pytest.raises(CredentialsError, match="cannot open"):
        from_secret_file(tmp_path / "link", "hacore")


def test_option_file(tmp_path: Path) -> None:
    text = '[mysqld]\nuser=mysql\n[client]\n# the agent\nuser = hacore\npassword = "p w"\n'
    c = from_option_file(_private(tmp_path / "my.cnf", text))
    assert (c.user, c.password) == ("hacore", "p w")
    with pytest.raises(CredentialsError, match=r"no user in section \[client\]"):
        from_option_file(_private(tmp_path / "b.cnf", "[mysqld]\nuser=x\n"))
    with pytest.raises(CredentialsError, match="unclosed"):
        from_option_file(_private(tmp_path / "c.cnf", "[client\nuser=x\n"))
