"""`hacore notify`: forwards to the agent, else records; bad arguments exit 2."""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path

import pytest

from adapters.keepalived.notify import NotifyArgsError, parse_notify_args
from hacli.main import main


def test_parses_what_keepalived_passes() -> None:
    n = parse_notify_args(["INSTANCE", "VI_1", "MASTER", "150"])
    assert n.as_fifo_line() == 'INSTANCE "VI_1" MASTER 150'


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["INSTANCE", "VI_1", "MASTER"], "4 arguments"),
        (["NODE", "VI_1", "MASTER", "1"], "TYPE"),
        (["INSTANCE", 'V"1', "MASTER", "1"], "NAME"),
        (["INSTANCE", "VI_1", "LEADER", "1"], "STATE"),
        (["INSTANCE", "VI_1", "MASTER", "256"], "PRIORITY"),
        (["INSTANCE", "VI_1", "MASTER", "-1"], "PRIORITY"),
    ],
)
def test_bad_arguments_name_the_field(args: list[str], field: str) -> None:
    with pytest.raises(NotifyArgsError, match=field):
        parse_notify_args(args)


def test_records_a_json_line_when_no_agent_listens(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rec = tmp_path / "rec.jsonl"
    sock = tmp_path / "none.sock"
    argv = ["notify", "INSTANCE", "VI_1", "BACKUP", "100", "--socket", str(sock)]
    assert main([*argv, "--record", str(rec)]) == 0
    assert main([*argv[:3], "MASTER", "100", "--socket", str(sock), "--record", str(rec)]) == 0
    lines = [json.loads(x) for x in rec.read_text().splitlines()]
    assert [x["state"] for x in lines] == ["BACKUP", "MASTER"]
    assert lines[0]["name"] == "VI_1" and lines[0]["priority"] == 100


def test_bad_arguments_exit_2_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(["notify", "INSTANCE", "VI_1", "MASTR", "100", "--record", str(tmp_path / "r")])
    assert rc == 2
    assert "STATE" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_forwards_to_the_agent_socket(tmp_path: Path) -> None:
    path = tmp_path / "agent.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)
    received: list[bytes] = []

    def accept() -> None:
        conn, _ = server.accept()
        with conn:
            received.append(conn.recv(65536))
            conn.sendall(b"ok\n")  # the agent acknowledges what it read

    t = threading.Thread(target=accept)
    t.start()
    rec = tmp_path / "rec.jsonl"
    rc = main(["notify", "GROUP", "G1", "FAULT", "0", "--socket", str(path), "--record", str(rec)])
    t.join(5)
    server.close()
    assert rc == 0
    assert json.loads(received[0])["type"] == "GROUP"
    assert not rec.exists()  # forwarded, so not recorded
