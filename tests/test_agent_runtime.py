"""The agent's decision loop on loopback: two in-process agents, keepalived's FIFO
written by the test (the real-keepalived cases are in test_agent_lab.py)."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import os
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from agent_helpers import KEY, free_port, node_config

from adapters.agent.config import load_config
from adapters.agent.jsonlog import JsonLog
from adapters.agent.ports import RecordingFakeGalera
from adapters.agent.runtime import Agent
from adapters.agent.secret_files import load_secrets
from adapters.agent.status_report import report
from adapters.store import SqliteStore
from hacore import events as ev
from hacore.ports import Outcome
from hacore.roles import Role


class Pair:
    def __init__(self, tmp: Path, **kw: Any) -> None:
        self.tmp = tmp
        self.kw = kw
        self.port = free_port()
        self.http = {"a": free_port(), "b": free_port()} if kw.pop("http", False) else {}
        self.agents: dict[str, Agent] = {}
        self.stops: dict[str, asyncio.Event] = {}
        self.runs: dict[str, asyncio.Task[None]] = {}
        self.logs: dict[str, io.StringIO] = {}

    def config_path(self, node: str) -> Path:
        return node_config(
            self.tmp, node, port=self.port, http_port=self.http.get(node, 0), **self.kw
        )

    async def start(self, node: str, clock: Callable[[], int] | None = None) -> Agent:
        config = load_config(self.config_path(node))
        stream = self.logs.setdefault(node, io.StringIO())
        agent = Agent(config, load_secrets(config), clock_us=clock)
        agent.log = JsonLog(node, agent._log_context, level="debug", stream=stream)
        await agent.start()
        self.agents[node] = agent
        self.stops[node] = asyncio.Event()
        self.runs[node] = asyncio.create_task(agent.run(self.stops[node]))
        return agent

    async def stop(self, node: str) -> None:
        self.stops[node].set()
        await asyncio.wait_for(self.runs[node], 15)

    def fifo(self, node: str, line: str) -> None:
        fd = os.open(self.tmp / node / "notify.fifo", os.O_WRONLY | os.O_NONBLOCK)
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)

    def journal(self, node: str) -> list[dict[str, Any]]:
        path = self.tmp / node / "galera-fake.jsonl"
        if not path.exists():
            return []
        return [json.loads(x) for x in path.read_text().splitlines()]


async def until(pred: Callable[[], bool], timeout: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not pred():
        if loop.time() > end:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Pair]]]:
    made: list[Pair] = []

    async def make(**kw: Any) -> Pair:
        p = Pair(tmp_path, **kw)
        made.append(p)
        await p.start("a")
        await p.start("b")
        return p

    yield make
    for p in made:
        for node in list(p.runs):
            if not p.runs[node].done():
                await p.stop(node)


async def _promote_a(p: Pair) -> None:
    p.fifo("a", 'INSTANCE "VI_1" MASTER 150')
    p.fifo("b", 'INSTANCE "VI_1" BACKUP 100')
    await until(lambda: p.agents["a"].state.role is Role.ACTIVE)
    await until(lambda: "a" in p.agents["b"].heard() and "b" in p.agents["a"].heard())
    # and the standby has a status of the active that says it hears the standby
    await until(lambda: "b" in (p.agents["b"].status_doc()["peers"]["a"] or {}).get("heard", []))


async def test_a_master_line_promotes_through_the_galera_port_once(
    pair: Callable[..., Awaitable[Pair]],
) -> None:
    p = await pair()
    await _promote_a(p)
    a, b = p.agents["a"], p.agents["b"]
    assert a.state.epoch == 1 and b.state.role is Role.STANDBY
    primaries = [j for j in p.journal("a") if j["op"] == "make_primary"]
    assert [j["key"] for j in primaries] == ["a/plan-1/make_galera_primary/1/galera.make_primary"]
    assert p.journal("b") == [] or all(j["op"] != "make_primary" for j in p.journal("b"))
    # the standby sees the active over the channel
    assert b.status_doc()["peers"]["a"]["role"] == "active"


async def test_status_from_either_node_in_keepalived_only_mode_is_healthy(
    pair: Callable[..., Awaitable[Pair]],
) -> None:
    p = await pair(services="")
    await _promote_a(p)
    for node in "ab":
        rep = report(p.agents[node].status_doc(), 0.001)
        assert rep["verdict"] == "healthy", [
            c for c in rep["checks"] if c["verdict"] not in ("ok", "not applicable")
        ]
        assert [r["role"] for r in rep["nodes"]] == ["active", "standby"]
        assert rep["nodes"][0]["epoch"] == 1
    # the standby stops: the active's view becomes degraded, never healthy
    await p.stop("b")
    await until(lambda: report(p.agents["a"].status_doc(), 0)["verdict"] == "degraded")


async def test_a_fake_answered_galera_is_not_observed_so_status_cannot_tell(
    pair: Callable[..., Awaitable[Pair]],
) -> None:
    p = await pair()
    await _promote_a(p)
    rep = report(p.agents["b"].status_doc(), 0.001)
    assert rep["verdict"] == "cannot tell"
    galera = [c for c in rep["checks"] if "Galera member" in c["name"]]
    assert galera and all(c["verdict"] == "not observed" for c in galera)


async def test_the_operator_socket_switchover_demotes_the_active(
    pair: Callable[..., Awaitable[Pair]],
) -> None:
    from adapters.agent.operator_socket import request

    p = await pair()
    await _promote_a(p)
    sock = str(p.tmp / "a" / "run" / "agent.sock")
    bad = await asyncio.to_thread(request, sock, {"op": "resolve", "winner": "zz"})
    assert not bad["ok"] and "not a node" in bad["error"]
    reply = await asyncio.to_thread(request, sock, {"op": "switchover", "target": ""})
    assert reply["ok"] and reply["role_before"] == "active"
    await until(lambda: p.agents["a"].state.role is Role.STANDBY)
    assert (p.tmp / "a" / "vrrp-yield").read_text() == "-149\n"  # priority yielded to 1
    ops = [j["op"] for j in p.journal("a")]
    assert "quarantine" in ops and "rejoin" in ops  # the demotion plan's Galera steps
    status = await asyncio.to_thread(request, sock, {"op": "status"})
    assert status["ok"] and status["status"]["self"]["role"] == "standby"


async def test_clear_fault_on_a_healthy_node_is_refused(
    pair: Callable[..., Awaitable[Pair]],
) -> None:
    from adapters.agent.operator_socket import request

    p = await pair()
    sock = str(p.tmp / "b" / "run" / "agent.sock")
    reply = await asyncio.to_thread(request, sock, {"op": "clear-fault"})
    assert not reply["ok"]


async def test_http_endpoints_answer_active_on_exactly_one_node(
    pair: Callable[..., Awaitable[Pair]],
) -> None:
    p = await pair(http=True)
    await _promote_a(p)
    codes: dict[str, dict[str, int]] = {}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
        for node, addr in (("a", "127.0.0.1"), ("b", "127.0.0.2")):
            base = f"http://{addr}:{p.http[node]}"
            codes[node] = {}
            for path in ("/active", "/standby", "/health"):
                async with http.get(base + path) as r:
                    codes[node][path] = r.status
            async with http.get(base + "/status") as r:
                assert (await r.json())["node"] == node
            async with http.get(base + "/metrics") as r:
                text = await r.text()
                assert 'hacore_role{role="active"}' in text
                assert "hacore_epoch" in text and "hacore_peer_last_heard_seconds" in text
                assert "hacore_split_brain_detected_total" in text
    assert codes["a"] == {"/active": 200, "/standby": 503, "/health": 200}
    assert codes["b"] == {"/active": 503, "/standby": 200, "/health": 200}


async def test_sigterm_mid_plan_records_the_cancelled_step_and_a_restart_completes_it(
    pair: Callable[..., Awaitable[Pair]],
) -> None:
    p = await pair(delay_s=1.5)
    p.fifo("a", 'INSTANCE "VI_1" MASTER 150')
    await until(lambda: p.agents["a"].state.role is Role.PROMOTING)
    await asyncio.sleep(0.2)  # inside make_galera_primary's 1.5 s
    await p.stop("a")
    with SqliteStore.open(str(p.tmp / "a" / "events.sqlite"), create=False, readonly=True) as s:
        messages = list(s.messages("a"))
    failed = [m for m in messages if isinstance(m, ev.StepAttemptFailed)]
    assert failed and "agent stopping" in failed[-1].reason
    agent = await p.start("a")
    p.fifo("a", 'INSTANCE "VI_1" MASTER 150')  # keepalived's view, as the probe would give it
    await until(lambda: agent.state.role is Role.ACTIVE, 15)
    keys = [j["key"] for j in p.journal("a") if j["op"] == "make_primary"]
    assert len(keys) == len(set(keys)) and keys[-1].endswith("/2/galera.make_primary")


async def test_safety_first_fences_through_the_galera_port_when_the_lease_lapses(
    pair: Callable[..., Awaitable[Pair]],
) -> None:
    p = await pair(mode="safety-first")
    await _promote_a(p)
    await until(lambda: p.agents["a"].writable())
    await p.stop("b")

    def lease_records() -> list[dict[str, Any]]:
        return [j for j in p.journal("a") if "/lease-" in j["key"]]

    # (a loaded machine may lapse and regain the lease before b stops: the last word counts)
    def fenced_by_lease() -> bool:
        records = lease_records()
        return (
            not p.agents["a"].writable()
            and bool(records)
            and "lease-fence" in records[-1]["key"]
            and p.agents["a"]._lease_fenced
        )

    await until(fenced_by_lease, 10)
    fence = lease_records()[-1]
    assert fence["op"] == "fence_writes" and fence["fenced"] is True


async def test_logs_are_json_lines_with_context_and_no_secret(
    pair: Callable[..., Awaitable[Pair]], tmp_path: Path
) -> None:
    password = "pw-Sup3rSecret-galera"
    pw = tmp_path / "galera.pw"
    pw.write_text(password)
    os.chmod(pw, 0o600)
    p = await pair(extra="", services="galera = true")
    # a password file too: rewrite b's config with it and restart b
    await p.stop("b")
    text = (
        p.config_path("b").read_text().replace("[galera]\n", f'[galera]\npassword_file = "{pw}"\n')
    )
    p.config_path("b").write_text(text)
    config = load_config(p.tmp / "b" / "agent.toml")
    assert load_secrets(config).galera_password is not None
    await p.start("b")
    await _promote_a(p)
    await p.stop("a")
    await p.stop("b")
    for node in "ab":
        lines = p.logs[node].getvalue().splitlines()
        assert lines
        for line in lines:
            row = json.loads(line)
            for field in ("time", "node", "epoch", "role", "plan", "step", "msg"):
                assert field in row
        blob = p.logs[node].getvalue()
        assert KEY.decode() not in blob and password not in blob


async def test_a_hung_port_times_out_as_uncertain_and_never_blocks_the_loop(
    pair: Callable[..., Awaitable[Pair]],
) -> None:
    from adapters.agent.operator_socket import request

    p = await pair(delay_s=30.0, step_timeout_s=1.0)  # the fake Galera "hangs" 30 s
    p.fifo("a", 'INSTANCE "VI_1" MASTER 150')
    await until(lambda: p.agents["a"].state.role is Role.PROMOTING)
    loop = asyncio.get_running_loop()
    sock = str(p.tmp / "a" / "run" / "agent.sock")
    t0 = loop.time()
    reply = await asyncio.to_thread(request, sock, {"op": "status"})
    assert reply["ok"] and loop.time() - t0 < 2.0  # answered while the step hangs
    path = str(p.tmp / "a" / "events.sqlite")

    def failed_uncertain() -> bool:
        with SqliteStore.open(path, create=False, readonly=True) as s:
            return any(
                isinstance(m, ev.StepAttemptFailed) and "uncertain" in m.reason
                for m in s.messages("a")
            )

    await until(failed_uncertain, 10)


async def test_hacore_notify_is_acknowledged_by_the_agent_and_not_acted_on(
    pair: Callable[..., Awaitable[Pair]],
) -> None:
    from adapters.notify_cli import forward

    p = await pair()
    sock = p.tmp / "b" / "run" / "agent.sock"
    b = p.agents["b"]
    assert b.staged is not None
    await until(lambda: b.dispatcher is not None and b.dispatcher.booted)
    await asyncio.sleep(0.3)
    before = len(b.staged)
    line = (
        b'{"source": "keepalived-notify", "type": "INSTANCE", "name": "VI_1", "state": "MASTER"}\n'
    )
    assert await asyncio.to_thread(forward, sock, line, 5.0)
    await asyncio.sleep(0.3)
    # the FIFO is the source of truth: a notify line changes nothing
    assert p.agents["b"].state.role is Role.STANDBY
    assert len(b.staged) == before
    assert "keepalived notify" in p.logs["b"].getvalue()


async def test_a_deeply_nested_or_huge_request_on_the_operator_socket_is_refused_typed(
    pair: Callable[..., Awaitable[Pair]],
) -> None:
    """Nesting past the parser's stack and integers past int's digit limit are
    a 'bad request' answer, not a crashed connection handler."""
    import socket as socket_mod

    p = await pair()
    sock = str(p.tmp / "b" / "run" / "agent.sock")

    def ask(raw: bytes) -> bytes:
        with socket_mod.socket(socket_mod.AF_UNIX, socket_mod.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(sock)
            s.sendall(raw + b"\n")
            return s.recv(65536)

    for raw in (b"[" * 2040 + b"]" * 2040, b"[" + b"9" * 4301 + b"]", b"\xff\xfe{}"):
        reply = await asyncio.to_thread(ask, raw)
        assert b"bad request" in reply, reply
    status = await asyncio.to_thread(request_status, sock)
    assert status["ok"]  # the agent still serves


def request_status(sock: str) -> dict[str, Any]:
    from adapters.agent.operator_socket import request

    return request(sock, {"op": "status"})


class HoldingGalera(RecordingFakeGalera):
    """The recording fake, but make_primary holds until the test releases it
    (bounded by the step's deadline): a failover caught in the middle."""

    def __init__(self, journal: Path, clock: Callable[[], int]) -> None:
        super().__init__(journal, clock=clock)
        self.entered = threading.Event()
        self.release = threading.Event()

    def make_primary(self, *, bootstrap_allowed: bool, key: str, deadline: int) -> Outcome:
        self.entered.set()
        self.release.wait(max(0.0, (deadline - self._clock()) / 1e6))
        return super().make_primary(bootstrap_allowed=bootstrap_allowed, key=key, deadline=deadline)


async def test_status_during_a_failover_shows_the_plan_and_is_not_healthy(
    pair: Callable[..., Awaitable[Pair]], capsys: pytest.CaptureFixture[str]
) -> None:
    from hacli.main import main

    p = await pair(step_timeout_s=120.0)
    a = p.agents["a"]
    assert a.ports is not None
    holding = HoldingGalera(p.tmp / "a" / "galera-fake.jsonl", a._clock)
    a.ports = dataclasses.replace(a.ports, galera=holding)
    p.fifo("a", 'INSTANCE "VI_1" MASTER 150')
    p.fifo("b", 'INSTANCE "VI_1" BACKUP 100')
    try:
        assert await asyncio.to_thread(holding.entered.wait, 30)
        # b's view of a is a's last heartbeat: wait until one from inside the step arrived
        held = "promotion 1: make_galera_primary"
        await until(lambda: (p.agents["b"].status_doc()["peers"]["a"] or {}).get("plan") == held)
        for node in "ab":
            rep = report(p.agents[node].status_doc(), 0.001)
            assert rep["verdict"] == "degraded", (node, rep["checks"])
            plan = [c for c in rep["checks"] if c["name"] == "node a: no plan in progress"]
            assert [c["verdict"] for c in plan] == ["failed"]
            assert plan[0]["detail"] == held, (node, rep)
            row = next(r for r in rep["nodes"] if r["name"] == "a")
            assert (row["role"], row["status"]) == ("promoting", "transition")
        # the command an operator runs says the same, with the non-healthy exit code
        config = str(p.tmp / "a" / "agent.toml")
        code = await asyncio.to_thread(main, ["status", "--config", config])
        out = capsys.readouterr().out
        assert code == 1, out
        assert "node a: no plan in progress (promotion 1: make_galera_primary)" in out
    finally:
        holding.release.set()
    await until(lambda: a.state.role is Role.ACTIVE)
    await until(lambda: not (p.agents["b"].status_doc()["peers"]["a"] or {}).get("plan", "x"))
    for node in "ab":
        rep = report(p.agents[node].status_doc(), 0.001)
        assert not [c for c in rep["checks"] if "plan in progress" in c["name"]]

    # after: no longer degraded once both views settle (a loaded machine may take a
    # heartbeat or two); Galera is a fake, so its checks cannot tell
    def settled() -> bool:
        return all(report(p.agents[n].status_doc(), 0)["verdict"] == "cannot tell" for n in "ab")

    await until(settled, 30)
