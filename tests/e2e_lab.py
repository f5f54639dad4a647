"""The reference system end to end on the lab (root): two namespaces with real
keepalived, an `hacore agent` each, the real litestream replicating k3s's
kine database into one replica directory both nodes see (as a shared mount
would be), and the k3s STAND-IN (adapters/k3s/standin_server.py, NOT k3s:
k3s cannot be installed here) started by the agent's plans inside each
node's namespace. Galera is off (its own lab tests run the real adapter).

Used by tests/test_e2e_lab.py and benchmarks/e2e_failover.py.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from agent_lab import AgentLab

from adapters.k3s import kine
from adapters.lab.lab import _pid_alive
from adapters.litestream.config import LitestreamConfig
from adapters.litestream.port import LitestreamDatastore
from adapters.litestream.quarantine import Quarantine
from adapters.litestream.replicator import Replicator
from adapters.store import SqliteStore
from hacore import codec
from hacore import events as ev
from hacore.ports import Done
from hacore.roles import PlanKind

READYZ_PORT = 6443  # inside each node's own network namespace
SERVICES = "k3s = true\nlitestream = true"

# Writes objects through the stand-in's API (inside a node's namespace) and
# prints each acknowledged revision; a refusal or error ends it (exit 1).
_PUT = (
    "import http.client, json, sys\n"
    "port, names = int(sys.argv[1]), sys.argv[2:]\n"
    "for name in names:\n"
    "    c = http.client.HTTPConnection('127.0.0.1', port, timeout=10)\n"
    "    try:\n"
    "        c.request('PUT', '/objects/' + name, body=name.encode())\n"
    "        r = c.getresponse(); body = json.loads(r.read())\n"
    "    except OSError as e:\n"
    "        print('error', e, flush=True); sys.exit(1)\n"
    "    if r.status != 200:\n"
    "        print('refused', r.status, flush=True); sys.exit(1)\n"
    "    print(name, body['revision'], flush=True)\n"
)
_READYZ = (
    "import http.client, sys\n"
    "try:\n"
    "    c = http.client.HTTPConnection('127.0.0.1', int(sys.argv[1]), timeout=3)\n"
    "    c.request('GET', '/readyz'); print(c.getresponse().status)\n"
    "except OSError:\n"
    "    print(0)\n"
)


def _is_litestream(pid: int) -> bool:
    try:
        argv0 = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
    except OSError:
        return False
    return argv0.endswith(b"/litestream")


def litestream_binary() -> str:
    return str(Path(sys.executable).parent / "litestream")


class E2ELab(AgentLab):
    """An AgentLab whose agents run k3s (the stand-in) and litestream."""

    def __init__(
        self,
        state_dir: Path,
        *,
        step_timeout_s: float = 30.0,
        mode: str = "availability-first",
        galera: bool = False,
        gluster: bool = False,
    ) -> None:
        # galera / gluster: the real daemons on both nodes through their adapters
        services = SERVICES + ("\ngalera = true" if galera else "")
        services += "\ngluster = true" if gluster else ""
        super().__init__(state_dir, services=services, mariadb=galera, gluster=gluster)
        names = [n.name for n in self.lab.state.nodes]
        # Each node replicates into its own replica and restores from its
        # peer's (one writer per replica: a shared one breaks under a split).
        self.peer = {names[0]: names[1], names[1]: names[0]}
        for node in self.lab.state.nodes:
            d = self.dir(node.name)
            (d / "k3s").mkdir(exist_ok=True)
            stand_in = [sys.executable, "-m", "adapters.k3s.standin_server"]
            stand_in += ["--datastore", str(self.db(node.name)), "--port", str(READYZ_PORT)]
            text = (d / "agent.toml").read_text()
            text = text.replace("step_timeout_s = 5.0", f"step_timeout_s = {step_timeout_s}")
            text = text.replace("[cluster]\n", f'[cluster]\nmode = "{mode}"\n', 1)
            text += f"""
[datastore]
adapter = "litestream"
database = "{self.db(node.name)}"
replica_dir = "{self.replica(node.name)}"
restore_dir = "{self.replica(self.peer[node.name])}"
socket = "{d}/run/ls.sock"
state_dir = "{d}/ls"
quarantine_dir = "{d}/quarantine"
binary = "{litestream_binary()}"
monitor_interval_ms = 100
sync_interval_ms = 100

[k3s]
adapter = "process"
start_command = {json.dumps(stand_in)}
readyz_port = {READYZ_PORT}
state_dir = "{d}/k3s-run"
poll_s = 0.3
"""
            (d / "agent.toml").write_text(text)
        self.seeded: set[str] = set()
        for name in names:
            self.seeded = self._seed_replica(self.replica(name))

    def replica(self, name: str) -> Path:
        """The replica ``name`` writes (its peer restores from it)."""
        return self.lab.dir / f"replica-{name}"

    def db(self, name: str) -> Path:
        return self.dir(name) / "k3s" / "state.db"

    def _seed_replica(self, replica: Path) -> set[str]:
        """The cluster's install-time history: a replica holding two objects
        (a first promotion refuses an empty replica, as it must)."""
        root = self.lab.dir / f"seed-{replica.name}"
        (root / "state").mkdir(parents=True, exist_ok=True)
        db = root / "state.db"
        conn = sqlite3.connect(db)
        conn.execute("PRAGMA journal_mode=wal")
        kine.create_schema(conn)
        names = {"/registry/namespaces/default", "/registry/namespaces/kube-system"}
        for name in sorted(names):
            kine.insert_object(conn, name, b"{}")
        conn.close()
        config = LitestreamConfig(
            database=db, replica_dir=replica, socket=root / "state" / "ls.sock",
            monitor_interval_ms=100, sync_interval_ms=100,
        )  # fmt: skip
        port = LitestreamDatastore(
            Replicator(config, root / "state", litestream_binary()), Quarantine(root / "q")
        )
        deadline = port.clock_us() + 60_000_000
        started = port.start_replication(key="seed", deadline=deadline)
        stopped = port.stop_replication(key="seed", deadline=port.clock_us() + 60_000_000)
        if not (isinstance(started, Done) and isinstance(stopped, Done)):
            port.replicator.kill()
            raise AssertionError(f"seeding the replica: {started} / {stopped}")
        return names

    # ---------------------------------------------------------------- k3s --

    def _netns_python(
        self, name: str, code: str, *args: str, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        node = self.lab.node(name)
        return subprocess.run(  # noqa: S603 - argv list
            ["ip", "netns", "exec", node.netns, sys.executable, "-c", code, *args],
            capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip

    def put(self, name: str, objects: list[str]) -> dict[str, int]:
        """Write objects through the stand-in on ``name``: those it acknowledged."""
        out = self._netns_python(name, _PUT, str(READYZ_PORT), *objects)
        acked = {}
        for line in out.stdout.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] in objects:
                acked[parts[0]] = int(parts[1])
        return acked

    def readyz(self, name: str) -> int:
        return int(self._netns_python(name, _READYZ, str(READYZ_PORT)).stdout.strip() or 0)

    def objects(self, name: str) -> set[str]:
        return {r.name for r in kine.read_rows(self.db(name))}

    def quarantined(self, name: str) -> set[str]:
        q = Quarantine(self.dir(name) / "quarantine")
        return {r.name for r in q.receipted_rows()}

    def _record_pid(self, path: Path) -> int | None:
        try:
            pid = json.loads(path.read_text())["pid"]
        except (OSError, ValueError, KeyError):
            return None
        return pid if isinstance(pid, int) and _pid_alive(pid) else None

    def service_pids(self, name: str) -> dict[str, int]:
        d = self.dir(name)
        found = {
            "k3s": self._record_pid(d / "k3s-run" / "k3s.json"),
            "litestream": self._record_pid(d / "ls" / "replicate.json"),
        }
        return {k: v for k, v in found.items() if v is not None}

    def lag(self, name: str) -> dict[str, object] | None:
        doc = self.status_doc(name)
        lag = None if doc is None else doc["self"].get("litestream_lag")
        return lag if isinstance(lag, dict) else None

    def wait_replica_level(self, name: str, timeout: float = 60.0) -> None:
        end = time.monotonic() + timeout
        lag = None
        while time.monotonic() < end:
            lag = self.lag(name)
            if lag is not None and lag.get("revisions_behind") == 0:
                return
            time.sleep(0.2)
        raise AssertionError(f"{name}'s replica never level: {lag}")

    def kill_node(self, name: str) -> int:
        """SIGKILL everything the node runs (agent, k3s stand-in, litestream,
        keepalived); returns the wall time (µs) just before the first kill."""
        pids = self.service_pids(name)
        at = time.time_ns() // 1000
        self.kill_agent(name)
        for pid in pids.values():
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.galera is not None:
            self.galera.server(name).kill()
        self.lab.kill(name)
        return at

    def down(self) -> None:
        for node in self.lab.state.nodes:
            if node.name in self.pids:
                try:
                    self.kill_agent(node.name)
                except (OSError, subprocess.TimeoutExpired):
                    pass
            for pid in self.service_pids(node.name).values():
                try:
                    os.killpg(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for node in self.lab.state.nodes:
            seed_dir = self.lab.dir / f"seed-replica-{node.name}"
            seed = self._record_pid(seed_dir / "state" / "replicate.json")
            if seed is not None:
                os.killpg(seed, signal.SIGKILL)
        # A litestream command an agent ran in its own session (the lag probe's
        # restore) outlives the agent's SIGKILL: end what is left in the node
        # namespaces (ours: the lab's unique prefix) before removing its files.
        for node in self.lab.state.nodes:
            self._kill_leftovers(node.netns)
        # The lab's own teardown removes the plain files it put in a node's directory.
        for node in self.lab.state.nodes:
            for sub in ("k3s", "ls", "k3s-run", "quarantine"):
                shutil.rmtree(self.dir(node.name) / sub, ignore_errors=True)
        for node in self.lab.state.nodes:
            for sub in (f"seed-replica-{node.name}", f"replica-{node.name}"):
                shutil.rmtree(self.lab.dir / sub, ignore_errors=True)
        super().down()

    def _kill_leftovers(self, netns: str) -> None:
        out = subprocess.run(  # noqa: S603 - argv list
            ["ip", "netns", "pids", netns], capture_output=True, text=True, timeout=10, check=False
        )
        keep = {n.keepalived_pid for n in self.lab.state.nodes}  # the lab stops its own
        for word in out.stdout.split():
            pid = int(word) if word.isdigit() else None
            if pid is None or pid in keep or not _is_litestream(pid):
                continue
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    # ------------------------------------------------------------- events --

    def log(self, name: str) -> list[codec.Message]:
        path = str(self.dir(name) / "events.sqlite")
        with SqliteStore.open(path, create=False, readonly=True) as store:
            return list(store.messages(name))


@dataclass(frozen=True)
class Promotion:
    plan_id: int
    started: int  # µs, the agent's clock (wall-anchored)
    finished: int
    steps: dict[str, int]  # step -> µs from its first start to its completion


def last_promotion(log: list[codec.Message]) -> Promotion | None:
    """The last promotion, if it completed: its start, finish and step durations."""
    plan: ev.PlanStarted | None = None
    for m in log:
        if isinstance(m, ev.PlanStarted) and m.kind is PlanKind.PROMOTION:
            plan = m
    if plan is None:
        return None
    started: dict[str, int] = {}
    steps: dict[str, int] = {}
    finished = None
    for m in log:
        if getattr(m, "plan_id", None) != plan.plan_id:
            continue
        if isinstance(m, ev.StepStarted):
            started.setdefault(m.step.value, m.at)
        elif isinstance(m, ev.StepCompleted):
            steps[m.step.value] = m.at - started.get(m.step.value, m.at)
        elif isinstance(m, ev.PlanFinished) and m.outcome == "completed":
            finished = m.at
    if finished is None:
        return None
    return Promotion(plan.plan_id, plan.at, finished, steps)


def step_runs(log: list[codec.Message], plan_id: int) -> dict[str, int]:
    """How many times each step of a plan started (attempts and resumes)."""
    runs: dict[str, int] = {}
    for m in log:
        if isinstance(m, ev.StepStarted) and m.plan_id == plan_id:
            runs[m.step.value] = runs.get(m.step.value, 0) + 1
    return runs
