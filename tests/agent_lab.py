"""Two lab nodes of real keepalived with an `hacore agent` each (root tests).

The lab (adapters.lab) builds the namespaces and runs keepalived; its FIFO
recorder is stopped so that the agent is the FIFO's one reader. Each agent
runs as ``ip netns exec NS python -m hacli.main agent --config F`` in its own
session, its PID kept; it is stopped by that PID only.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from agent_helpers import write_key

from adapters.agent.operator_socket import OperatorSocketError, request
from adapters.lab import Lab, LabNodeSpec
from adapters.lab.galera import GaleraLab, sql_root
from adapters.lab.gluster import VOLUME, GlusterLab
from adapters.lab.lab import stop_pid

HTTP_PORT = 8008
PEER_PORT = 7400

_PROBE = (
    "import sys, urllib.request, urllib.error\n"
    "try:\n"
    "    print(urllib.request.urlopen(sys.argv[1], timeout=2).status)\n"
    "except urllib.error.HTTPError as e:\n"
    "    print(e.code)\n"
    "except OSError:\n"
    "    print(0)\n"
)


def agent_config_text(lab: Lab, name: str, *, delay_s: float, policy: str, services: str) -> str:
    node = lab.node(name)
    d = lab.node_dir(node)
    key = write_key(lab.dir / "peer.key")
    nodes = "".join(
        f'\n[[cluster.nodes]]\nname = "{n.name}"\naddress = "{n.ip}"\npriority = {n.priority}\n'
        for n in lab.state.nodes
    )
    return f"""
node = "{name}"

[cluster]
virtual_ip = "10.77.0.250/24"
policy = "{policy}"
{nodes}
[peer]
key_file = "{key}"
port = {PEER_PORT}
heartbeat_s = 0.1
timeout_s = 1.0

[timing]
write_lease_s = 0.5
step_timeout_s = 5.0
hold_down_s = 0.5
vip_handover_s = 4.0
split_judge_s = 1.0
fault_hold_s = 2.0

[services]
{services}

[keepalived]
instance = "VI_1"
advert_int = {lab.state.advert_int}
notify_fifo = "{d}/notify.fifo"
track_file = "{d}/vrrp-yield"
pid_file = "{d}/keepalived.pid"
json_dir = "{d}"

[operator]
socket = "{d}/run/agent.sock"

[store]
path = "{d}/events.sqlite"

[galera]
fake_journal = "{d}/galera-fake.jsonl"
fake_delay_s = {delay_s}

[http]
enabled = true
address = "{node.ip}"
port = {HTTP_PORT}

[log]
level = "debug"
"""


class AgentLab:
    def __init__(
        self,
        state_dir: Path,
        *,
        delay_s: float = 0.3,
        policy: str = "vrrp-winner",
        services: str = "galera = true",
        mariadb: bool = False,
        gluster: bool = False,
    ) -> None:
        self.lab = Lab.up(
            [LabNodeSpec("a", 150), LabNodeSpec("b", 100)],
            name=state_dir.name,
            state_dir=state_dir,
            advert_int="0.1",
            start=False,
        )
        self.galera: GaleraLab | None = None
        if mariadb:
            try:
                self.galera = GaleraLab.up(self.lab)
                sql_root(self.galera, "a", "CREATE DATABASE IF NOT EXISTS app")
            except BaseException:
                self.lab.down()
                raise
        self.gluster: GlusterLab | None = None
        if gluster:
            try:
                self.gluster = GlusterLab.up(self.lab)
            except BaseException:
                self.lab.down()
                raise
        self.pids: dict[str, int] = {}
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        for node in self.lab.state.nodes:
            stop_pid(node.recorder_pid)  # the agent reads the FIFO, not the recorder
            node.recorder_pid = None
            d = self.lab.node_dir(node)
            text = agent_config_text(
                self.lab, node.name, delay_s=delay_s, policy=policy, services=services
            )
            if self.galera is not None:
                text = text.replace("[galera]\n", self._mariadb_keys(node.name))
                # the real make_primary waits up to 10 s for Galera to drop a lost peer
                text = text.replace("step_timeout_s = 5.0", "step_timeout_s = 30.0")
            if self.gluster is not None:
                text += self._gluster_keys(node.name)
                # heal polls the CLI until nothing is pending: seconds on a loaded machine
                text = text.replace("step_timeout_s = 5.0", "step_timeout_s = 60.0")
            (d / "agent.toml").write_text(text)
        self.lab.save()

    def _mariadb_keys(self, name: str) -> str:
        """The [galera] section's keys for the real adapter on this lab node."""
        g = self.galera
        assert g is not None
        server = g.server(name)
        launcher = ", ".join(json.dumps(a) for a in server.launcher)
        return (
            "[galera]\n"
            'adapter = "mariadb"\n'
            'user = "hacore"\n'
            f'password_file = "{g.secret_path}"\n'
            f'server_root = "{server.root}"\n'
            f"launcher = [{launcher}]\n"
            f'inner_root = "{server.inner}"\n'
            'schemas = ["app"]\n'
            f'quarantine_dir = "{self.lab.dir / "quarantine"}"\n'
            "poll_s = 0.5\n"
        )

    def _gluster_keys(self, name: str) -> str:
        """The [gluster] section for the real adapter on this lab node's volume."""
        g = self.gluster
        assert g is not None
        nsenter = shutil.which("nsenter")
        gluster = shutil.which("gluster")
        assert nsenter is not None and gluster is not None  # required by GlusterLab.up
        launcher = [nsenter, *g.launcher(name)[1:]]
        return (
            "\n[gluster]\n"
            'adapter = "glusterd"\n'
            f'volume = "{VOLUME}"\n'
            f'brick = "{g.brick(name)}"\n'
            f'brick_path = "{g.brick_dir(name)}"\n'
            f'mount = "{g.mount_dir(name)}"\n'
            f'quarantine_dir = "{self.lab.dir / "gluster-quarantine" / name}"\n'
            f'binary = "{gluster}"\n'
            f"launcher = {json.dumps(launcher)}\n"
        )

    def dir(self, name: str) -> Path:
        return self.lab.node_dir(self.lab.node(name))

    def start_agent(self, name: str) -> int:
        node = self.lab.node(name)
        d = self.dir(name)
        argv = [
            "ip", "netns", "exec", node.netns,
            sys.executable, "-m", "hacli.main", "agent", "--config", str(d / "agent.toml"),
        ]  # fmt: skip
        with open(d / "agent.log", "ab") as log:
            proc = subprocess.Popen(  # noqa: S603 - argv list
                argv, start_new_session=True, stdin=subprocess.DEVNULL, stdout=log, stderr=log
            )
        self.pids[name] = proc.pid
        self._procs[name] = proc
        end = time.monotonic() + 15
        while time.monotonic() < end:
            if self.status_doc(name) is not None:
                return proc.pid
            if proc.poll() is not None:
                raise AssertionError(
                    f"agent {name} exited {proc.returncode}: {self.log_tail(name)}"
                )
            time.sleep(0.05)
        raise AssertionError(f"agent {name} did not answer on its socket: {self.log_tail(name)}")

    def kill_agent(self, name: str) -> None:
        pid = self.pids.pop(name)
        os.killpg(pid, signal.SIGKILL)
        self._procs[name].wait(10)

    def stop_agent(self, name: str) -> int:
        pid = self.pids.pop(name)
        os.kill(pid, signal.SIGTERM)
        return self._procs[name].wait(15)

    def log_tail(self, name: str, n: int = 20) -> str:
        path = self.dir(name) / "agent.log"
        return "\n".join(path.read_text().splitlines()[-n:]) if path.exists() else ""

    def status_doc(self, name: str) -> dict[str, Any] | None:
        try:
            reply = request(str(self.dir(name) / "run" / "agent.sock"), {"op": "status"}, 3.0)
        except OperatorSocketError:
            return None
        status = reply.get("status")
        return status if isinstance(status, dict) else None

    def role(self, name: str) -> str | None:
        doc = self.status_doc(name)
        return None if doc is None else str(doc["self"]["role"])

    def wait_roles(self, want: dict[str, str], timeout: float = 20.0) -> None:
        end = time.monotonic() + timeout
        got: dict[str, str | None] = {}
        while time.monotonic() < end:
            got = {n: self.role(n) for n in want}
            if got == want:
                return
            time.sleep(0.1)
        logs = {n: self.log_tail(n, 8) for n in want}
        raise AssertionError(
            f"roles {got}, wanted {want}; warnings: {self.warnings()}; logs: {logs}"
        )

    def warnings(self, n: int = 12) -> dict[str, list[str]]:
        """Each agent's last warning/error lines (why a step failed, for a failure message)."""
        out: dict[str, list[str]] = {}
        for name in (node.name for node in self.lab.state.nodes):
            path = self.dir(name) / "agent.log"
            lines = path.read_text().splitlines() if path.exists() else []
            out[name] = [x for x in lines if '"level": "warning"' in x or '"level": "error"' in x][
                -n:
            ]
        return out

    def http_code(self, name: str, path: str) -> int:
        node = self.lab.node(name)
        out = subprocess.run(  # noqa: S603 - argv list
            ["ip", "netns", "exec", node.netns, sys.executable, "-c", _PROBE,
             f"http://{node.ip}:{HTTP_PORT}{path}"],
            capture_output=True, text=True, timeout=10, check=False,
        )  # fmt: skip
        return int(out.stdout.strip() or 0)

    def hacore(self, name: str, *args: str) -> subprocess.CompletedProcess[str]:
        config = str(self.dir(name) / "agent.toml")
        return subprocess.run(  # noqa: S603 - argv list
            [sys.executable, "-m", "hacli.main", *args, "--config", config],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip

    def journal(self, name: str) -> list[dict[str, Any]]:
        path = self.dir(name) / "galera-fake.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines()]

    def down(self) -> None:
        for name in list(self.pids):
            try:
                self.stop_agent(name)
            except Exception:
                pid = self.pids.pop(name, None)
                if pid is not None:
                    stop_pid(pid)
        for node in self.lab.state.nodes:
            shutil.rmtree(self.lab.node_dir(node) / "run", ignore_errors=True)
        key = self.lab.dir / "peer.key"
        if self.galera is not None:
            self.galera.down()
            shutil.rmtree(self.lab.dir / "quarantine", ignore_errors=True)
        if self.gluster is not None:
            self.gluster.down()
            shutil.rmtree(self.lab.dir / "gluster-quarantine", ignore_errors=True)
        self.lab.down()
        key.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self.lab.dir.rmdir()
