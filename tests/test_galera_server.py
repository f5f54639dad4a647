"""mariadbd process control without MariaDB: a stand-in that ignores SIGTERM, as a node
stuck joining a non-Primary component does, must be stopped by escalation to SIGKILL."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from adapters.galera.credentials import Credentials
from adapters.galera.errors import ServerError
from adapters.galera.ops import GaleraNode, OutcomeKind
from adapters.galera.server import Server
from adapters.galera.sql import Endpoint

STUBBORN = (
    sys.executable,
    "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)",
)  # fmt: skip  (the mariadbd argv that follows lands in sys.argv, unused)


def test_start_is_idempotent_and_stop_escalates_to_sigkill(tmp_path: Path) -> None:
    server = Server(tmp_path, launcher=STUBBORN)
    pid = server.start()
    assert server.start() == pid  # already running: the same process, nothing new
    time.sleep(0.3)  # let it install its SIGTERM handler
    node = GaleraNode(server, Endpoint(socket=tmp_path / "none.sock"), Credentials("u", "p"))
    out = node.stop(timeout_s=0.5)
    assert out.kind is OutcomeKind.DONE and "SIGKILL" in out.detail
    assert not server.running()
    assert node.stop().kind is OutcomeKind.ALREADY


def test_recover_is_refused_while_running_and_a_reused_pid_is_never_ours(tmp_path: Path) -> None:
    server = Server(tmp_path, launcher=STUBBORN)
    server.start()
    try:
        with pytest.raises(ServerError, match="running"):
            server.recover()
    finally:
        server.kill()
    # a record of a live PID (our own) from another boot is not the process we started
    record = json.dumps({"pid": os.getpid(), "start": 1, "boot": "another-boot"})
    (tmp_path / "mariadbd.json").write_text(record + "\n")
    assert server.pid() is None


def test_a_bad_pid_record_is_a_typed_error(tmp_path: Path) -> None:
    (tmp_path / "mariadbd.json").write_text("{not json")
    with pytest.raises(ServerError, match="unreadable PID record"):
        Server(tmp_path).pid()
