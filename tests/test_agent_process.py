"""`hacore agent` as a process (loopback, no root): exit codes, SIGTERM, and an
operator command acknowledged just before a SIGKILL is not lost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from agent_helpers import free_port, node_config

from adapters.agent.operator_socket import OperatorSocketError, request
from adapters.store import SqliteStore
from hacore import events as ev
from hacore import inputs as inp
from hacore.roles import Command


class Proc:
    def __init__(self, tmp: Path, port: int) -> None:
        self.tmp = tmp
        self.port = port
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, node: str, delay_s: float = 0.3, step_timeout_s: float = 5.0) -> None:
        config = node_config(
            self.tmp, node, port=self.port, delay_s=delay_s, step_timeout_s=step_timeout_s
        )
        with open(self.tmp / node / "agent.log", "ab") as log:
            self.procs[node] = subprocess.Popen(  # noqa: S603 - argv list
                [sys.executable, "-m", "hacli.main", "agent", "--config", str(config)],
                start_new_session=True, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            )  # fmt: skip
        self.wait(lambda: self.status(node) is not None, f"{node} answers")

    def status(self, node: str) -> dict[str, object] | None:
        try:
            reply = request(str(self.tmp / node / "run" / "agent.sock"), {"op": "status"}, 2.0)
        except OperatorSocketError:
            return None
        doc = reply.get("status")
        return doc if isinstance(doc, dict) else None

    def role(self, node: str) -> str | None:
        doc = self.status(node)
        return None if doc is None else str(doc["self"]["role"])  # type: ignore[index]

    def fifo(self, node: str, line: str) -> None:
        fd = os.open(self.tmp / node / "notify.fifo", os.O_WRONLY | os.O_NONBLOCK)
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)

    @staticmethod
    def wait(pred: object, what: str, timeout: float = 20.0) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if pred():  # type: ignore[operator]
                return
            time.sleep(0.05)
        raise AssertionError(f"not reached in time: {what}")

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[Proc]:
    p = Proc(tmp_path, free_port())
    try:
        yield p
    finally:
        p.stop_all()


def test_an_acknowledged_switchover_survives_a_sigkill_right_after_the_reply(
    procs: Proc,
) -> None:
    procs.start("a")
    procs.start("b")
    procs.fifo("a", 'INSTANCE "VI_1" MASTER 150')
    procs.fifo("b", 'INSTANCE "VI_1" BACKUP 100')
    procs.wait(lambda: procs.role("a") == "active" and procs.role("b") == "standby", "a active")
    reply = request(str(procs.tmp / "a" / "run" / "agent.sock"), {"op": "switchover"})
    os.killpg(procs.procs["a"].pid, signal.SIGKILL)  # at once: the reply said it is durable
    procs.procs["a"].wait(10)
    assert reply["ok"]
    with SqliteStore.open(str(procs.tmp / "a" / "events.sqlite"), create=False, readonly=True) as s:
        messages = list(s.messages("a"))
    commands = [m for m in messages if isinstance(m, inp.OperatorCommand)]
    assert [c.command for c in commands] == [Command.SWITCHOVER]
    assert any(isinstance(m, ev.PriorityYielded) for m in messages)
    procs.start("a")  # the restart resumes the demotion the command started
    procs.wait(lambda: procs.role("a") == "standby", "a standby after restart")


def _hacore(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - argv list
        [sys.executable, "-m", "hacli.main", *args, "--config", str(config)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_the_operator_commands_and_history_from_the_command_line(procs: Proc) -> None:
    procs.start("a")
    procs.start("b")
    procs.fifo("a", 'INSTANCE "VI_1" MASTER 150')
    procs.fifo("b", 'INSTANCE "VI_1" BACKUP 100')
    procs.wait(lambda: procs.role("a") == "active", "a active")
    config_a = procs.tmp / "a" / "agent.toml"
    bad = _hacore(config_a, "resolve", "--winner", "zz")
    assert bad.returncode == 1 and "not a node" in bad.stderr
    refused = _hacore(config_a, "clear-fault")
    assert refused.returncode == 1 and "refused" in refused.stderr
    ok = _hacore(config_a, "switchover")
    assert ok.returncode == 0 and "active ->" in ok.stdout, ok.stderr
    procs.wait(lambda: procs.role("a") == "standby", "a standby after switchover")
    history = _hacore(config_a, "history", "--json")
    rows = json.loads(history.stdout)
    whats = [r["what"] for r in rows]
    assert "epoch" in whats and "plan finished" in whats and "role" in whats
    steps = [r for r in rows if r["what"] == "step"]
    assert steps and all(r["duration_s"] is not None for r in steps)
    later = _hacore(config_a, "history", "--json", "--since", str(rows[-1]["at_us"] / 1e6))
    assert len(json.loads(later.stdout)) < len(rows)
    text = _hacore(config_a, "history")
    assert text.returncode == 0 and "plan finished" in text.stdout


def test_sigterm_stops_the_agent_cleanly_with_exit_0(procs: Proc) -> None:
    procs.start("a")
    proc = procs.procs["a"]
    os.kill(proc.pid, signal.SIGTERM)
    assert proc.wait(20) == 0
    lines = [json.loads(x) for x in (procs.tmp / "a" / "agent.log").read_text().splitlines()]
    assert lines[-1]["msg"] == "agent stopped"
    assert not (procs.tmp / "a" / "run" / "agent.sock").exists()


def test_sigterm_does_not_wait_for_a_hung_port_call(procs: Proc) -> None:
    procs.start("a", delay_s=60.0, step_timeout_s=30.0)  # the fake Galera hangs in its step
    procs.fifo("a", 'INSTANCE "VI_1" MASTER 150')
    procs.wait(lambda: procs.role("a") == "promoting", "a promoting")
    time.sleep(0.3)
    proc = procs.procs["a"]
    t0 = time.monotonic()
    os.kill(proc.pid, signal.SIGTERM)
    assert proc.wait(20) == 0
    assert time.monotonic() - t0 < 15  # not the 60 s the hung call takes
    with SqliteStore.open(str(procs.tmp / "a" / "events.sqlite"), create=False, readonly=True) as s:
        failed = [m for m in s.messages("a") if isinstance(m, ev.StepAttemptFailed)]
    assert failed and "agent stopping" in failed[-1].reason


def test_a_bad_configuration_exits_2_without_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "agent.toml"
    bad.write_text('node = "a"\n[cluster]\nvirtual_ip = "x"\n')
    out = subprocess.run(  # noqa: S603 - argv list
        [sys.executable, "-m", "hacli.main", "agent", "--config", str(bad)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert out.returncode == 2
    assert "cluster" in out.stderr and "Traceback" not in out.stderr


def test_status_without_an_agent_cannot_tell(tmp_path: Path) -> None:
    config = node_config(tmp_path, "a", port=free_port())
    out = subprocess.run(  # noqa: S603 - argv list
        [sys.executable, "-m", "hacli.main", "status", "--config", str(config)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert out.returncode == 2 and "cannot tell" in out.stderr
    assert "Traceback" not in out.stderr
