"""`hacore notify` trusts no path or socket another user could have placed (issue 15)."""

from __future__ import annotations

import json
import os
import socket
import stat
import threading
from pathlib import Path

import pytest

from hacli.main import main

ARGS = ["notify", "INSTANCE", "VI_1", "MASTER", "150"]


def _notify(sock: Path, rec: Path, *, make_dir: bool = True) -> int:
    if make_dir and not rec.parent.exists() and not rec.parent.is_symlink():
        rec.parent.mkdir(mode=0o700)  # an explicit --record needs its directory
    return main([*ARGS, "--socket", str(sock), "--record", str(rec)])


def test_record_file_0600_and_directory_0700_even_under_umask_0(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rec = tmp_path / "run" / "notify.jsonl"
    # The configured record path (not an explicit --record) gets its directory made.
    monkeypatch.setenv("HACORE_NOTIFY_RECORD", str(rec))
    old = os.umask(0)
    try:
        assert main([*ARGS, "--socket", str(tmp_path / "none.sock")]) == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(rec.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(rec.stat().st_mode) == 0o600
    assert json.loads(rec.read_text())["state"] == "MASTER"


def test_a_symlink_at_the_record_path_is_not_followed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "victim"
    target.write_text("precious\n")
    rec_dir = tmp_path / "run"
    rec_dir.mkdir(mode=0o700)
    (rec_dir / "notify.jsonl").symlink_to(target)
    assert _notify(tmp_path / "none.sock", rec_dir / "notify.jsonl") == 1
    assert target.read_text() == "precious\n"
    assert "symlink" in capsys.readouterr().err


def test_a_record_directory_others_can_write_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rec_dir = tmp_path / "shared"
    rec_dir.mkdir()
    rec_dir.chmod(0o777)
    assert _notify(tmp_path / "none.sock", rec_dir / "notify.jsonl") == 1
    assert not (rec_dir / "notify.jsonl").exists()
    assert "writable by others" in capsys.readouterr().err


def test_a_symlinked_record_directory_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    (tmp_path / "link").symlink_to(real)
    assert _notify(tmp_path / "none.sock", tmp_path / "link" / "notify.jsonl") == 1
    assert list(real.iterdir()) == []


def test_a_record_file_of_another_user_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if os.geteuid() != 0:
        pytest.skip("chown to another user needs root")
    rec_dir = tmp_path / "run"
    rec_dir.mkdir(mode=0o700)
    rec = rec_dir / "notify.jsonl"
    rec.write_text("")
    os.chown(rec, 65534, 65534)
    assert _notify(tmp_path / "none.sock", rec) == 1
    assert rec.read_text() == ""
    assert "owned by uid 65534" in capsys.readouterr().err


class _Listener:
    """A Unix socket server that reads one message and answers ``reply`` (or nothing)."""

    def __init__(self, path: Path, reply: bytes | None, read: bool = True) -> None:
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(str(path))
        self.server.listen(1)
        self.server.settimeout(0.05)
        self.received: list[bytes] = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._serve, args=(reply, read))
        self.thread.start()

    def _serve(self, reply: bytes | None, read: bool) -> None:
        for _ in range(100):  # 5 s at most, ends early once close() is called
            try:
                conn, _ = self.server.accept()
                break
            except TimeoutError:
                if self.done.is_set():
                    return
        else:
            return
        conn.settimeout(5)
        with conn:
            if read:
                self.received.append(conn.recv(65536))
            if reply is not None:
                conn.sendall(reply)
            self.done.wait(5)

    def close(self) -> None:
        self.done.set()
        self.thread.join(5)
        self.server.close()


def test_a_listener_that_never_reads_does_not_count_as_delivery(tmp_path: Path) -> None:
    sock, rec = tmp_path / "agent.sock", tmp_path / "run" / "notify.jsonl"
    listener = _Listener(sock, reply=None, read=False)
    try:
        assert _notify(sock, rec) == 0
    finally:
        listener.close()
    assert json.loads(rec.read_text())["name"] == "VI_1"  # recorded, not lost


def test_a_wrong_answer_is_not_an_acknowledgement(tmp_path: Path) -> None:
    sock, rec = tmp_path / "agent.sock", tmp_path / "run" / "notify.jsonl"
    listener = _Listener(sock, reply=b"no\n")
    try:
        assert _notify(sock, rec) == 0
    finally:
        listener.close()
    assert rec.exists()


def test_an_acknowledged_message_is_not_recorded(tmp_path: Path) -> None:
    sock, rec = tmp_path / "agent.sock", tmp_path / "run" / "notify.jsonl"
    listener = _Listener(sock, reply=b"ok\n")
    try:
        assert _notify(sock, rec) == 0
    finally:
        listener.close()
    assert json.loads(listener.received[0])["state"] == "MASTER"
    assert not rec.exists()


def test_a_socket_of_another_user_is_not_written_to(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if os.geteuid() != 0:
        pytest.skip("chown to another user needs root")
    sock, rec = tmp_path / "agent.sock", tmp_path / "run" / "notify.jsonl"
    listener = _Listener(sock, reply=b"ok\n")
    os.chown(sock, 65534, 65534)
    try:
        assert _notify(sock, rec) == 0
    finally:
        listener.close()
    assert listener.received == []
    assert rec.exists()
    assert "owned by uid 65534" in capsys.readouterr().err


def test_a_symlink_at_the_socket_path_is_not_followed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    real, sock = tmp_path / "real.sock", tmp_path / "agent.sock"
    listener = _Listener(real, reply=b"ok\n")
    sock.symlink_to(real)
    try:
        assert _notify(sock, tmp_path / "run" / "notify.jsonl") == 0
    finally:
        listener.close()
    assert listener.received == []
    assert "not a socket" in capsys.readouterr().err


def test_an_explicit_record_path_in_a_missing_directory_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rec = tmp_path / "typo" / "notify.jsonl"
    assert _notify(tmp_path / "none.sock", rec, make_dir=False) == 2
    err = capsys.readouterr().err
    assert f"no directory {rec.parent}" in err and len(err.splitlines()) == 1
    assert not rec.parent.exists()
