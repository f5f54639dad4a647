"""The K3sPort adapter against the k3s STAND-IN (adapters/k3s/standin_server.py),
not k3s: k3s cannot be installed on these machines. The stand-in opens the
kine datastore, checks kine's table, writes/reads objects, answers /readyz."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import sqlite3
import sys
import tempfile
from pathlib import Path

from adapters.k3s import kine
from adapters.k3s.errors import K3sPidRecordError
from adapters.k3s.port import K3sAdapter
from hacontracts.ports import K3sPortContract
from hacore.ports import Done, Failed, K3sPort


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class StandInSite:
    def __init__(self, *, replica_expected: bool = False, create: bool = True) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="hacore-k3s-standin-"))
        self.db = self.root / "state.db"
        if create:
            conn = sqlite3.connect(self.db)
            kine.create_schema(conn)
            kine.insert_object(conn, "/registry/namespaces/default", b"{}")
            conn.close()
        self.port_no = _free_port()
        self.adapter = K3sAdapter(
            start_command=(
                sys.executable,
                "-m",
                "adapters.k3s.standin_server",
                "--datastore",
                str(self.db),
                "--port",
                str(self.port_no),
            ),
            datastore=self.db,
            readyz_port=self.port_no,
            state_dir=self.root / "run",
            replica_expected=replica_expected,
        )

    def deadline(self) -> int:
        # A bound, not a timing claim: a Python stand-in on a loaded 2-core CI
        # machine once took longer than 5 s to answer /readyz.
        return self.adapter.clock_us() + 30_000_000

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, object]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port_no, timeout=5)
        try:
            conn.request(method, path, body=body)
            resp = conn.getresponse()
            return resp.status, json.loads(resp.read())
        finally:
            conn.close()

    def close(self) -> None:
        pid = self.adapter.pid()
        if pid is not None:
            os.killpg(pid, signal.SIGKILL)
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        shutil.rmtree(self.root, ignore_errors=True)


class TestK3sStandIn(K3sPortContract):
    # Generous: a Python stand-in on a loaded 2-core machine once missed a 2 s
    # start budget. The unresponsive case shortens it (every call then waits
    # out its whole deadline).
    budget_us = 20_000_000
    site: StandInSite

    def make_port(self) -> K3sPort:
        self.site = StandInSite()
        return self.site.adapter

    def teardown_method(self) -> None:
        self.site.close()

    def now(self) -> int:
        return self.site.adapter.clock_us()

    def make_unresponsive(self) -> None:
        a = self.site.adapter
        a.start(key="setup", deadline=self.site.deadline())
        pid = a.pid()
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)  # a wedged API server: accepts TCP, never answers
        self.budget_us = 2_000_000


def test_the_standin_writes_and_reads_objects_through_the_kine_datastore() -> None:
    site = StandInSite()
    try:
        assert isinstance(site.adapter.start(key="s", deadline=site.deadline()), Done)
        status, body = site.request("PUT", "/objects/configmaps/a", b"hello")
        assert status == 200 and isinstance(body, dict)
        status, got = site.request("GET", "/objects/configmaps/a")
        assert status == 200 and got == {"revision": body["revision"], "value": "hello"}
        rows = kine.read_rows(site.db)
        assert any(r.name == "/registry/configmaps/a" and r.value == b"hello" for r in rows)
        assert site.request("PUT", "/objects/a%20b", b"x")[0] == 400
    finally:
        site.close()


def test_the_standin_refuses_a_datastore_without_kines_table() -> None:
    site = StandInSite(create=False)
    try:
        conn = sqlite3.connect(site.db)
        conn.execute("CREATE TABLE kine (id INTEGER PRIMARY KEY, name TEXT)")
        conn.close()
        outcome = site.adapter.start(key="s", deadline=site.deadline())
        assert isinstance(outcome, Failed) and "exited" in outcome.reason
        assert "columns" in (site.root / "run" / "k3s.log").read_text()
    finally:
        site.close()


def test_no_start_on_an_empty_datastore_when_a_replica_was_expected() -> None:
    site = StandInSite(replica_expected=True, create=False)
    try:
        outcome = site.adapter.start(key="s", deadline=site.deadline())
        assert isinstance(outcome, Failed) and "refusing to start k3s" in outcome.reason
        assert site.adapter.pid() is None and not site.db.exists()
    finally:
        site.close()


def test_a_stop_that_sigterm_did_not_finish_escalates_to_sigkill_later() -> None:
    site = StandInSite()
    site.adapter.kill_after_s = 0.0
    try:
        assert isinstance(site.adapter.start(key="s", deadline=site.deadline()), Done)
        pid = site.adapter.pid()
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)  # SIGTERM stays pending
        first = site.adapter.stop(key="t", deadline=site.adapter.clock_us() + 1_000_000)
        assert not isinstance(first, Done), first
        second = site.adapter.stop(key="t", deadline=site.deadline())
        assert isinstance(second, Done), second
    finally:
        site.close()


def test_a_damaged_pid_record_is_a_typed_error_never_not_running() -> None:
    site = StandInSite()
    try:
        assert isinstance(site.adapter.start(key="s", deadline=site.deadline()), Done)
        pid = site.adapter.pid()
        assert pid is not None
        record = site.root / "run" / "k3s.json"
        intact = record.read_bytes()
        for damage in (
            b'{"pid": ',
            b"[1, 2]",
            b'{"pid": "12"}',
            b'{"pid": 0, "boot": ""}',
            b"\xff",
        ):
            record.write_bytes(damage)
            try:
                site.adapter.pid()
            except K3sPidRecordError as exc:
                assert str(record) in str(exc)
            else:
                raise AssertionError(f"{damage!r} read as a record")
            started = site.adapter.start(key="s2", deadline=site.deadline())
            assert isinstance(started, Failed) and "PID record" in started.reason, started
            stopped = site.adapter.stop(key="t", deadline=site.deadline())
            assert isinstance(stopped, Failed) and "PID record" in stopped.reason, stopped
            # Neither started a second server (it would have rewritten the record)
            # nor signalled the running one.
            assert record.read_bytes() == damage
            assert site.adapter.ready(key="r", deadline=site.deadline()) == Done(
                detail="/readyz 200"
            )
        record.write_bytes(intact)
        assert site.adapter.pid() == pid
    finally:
        site.close()
