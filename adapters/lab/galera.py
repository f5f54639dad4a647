"""MariaDB Galera in the lab: one real mariadbd per node namespace, garbd as the witness.

Per node, ``STATE/NODE/galera/`` (owned by mysql: rsync SST fails when mariadbd
runs as root) holds my.cnf, the datadir, the socket and the logs. mariadbd is
started through the lab's launcher, which binds that directory over ``/tmp``
in the node's private mount namespace, so the daemon's paths are ``/tmp/...``
and it never traverses the root-only state directory; the host reaches each
node through its unix socket. Inside separate namespaces every node uses the
default ports. The lab's partitions cut all traffic between namespaces, so
they cut Galera's both ways.

``up`` installs the system tables on the first node only, bootstraps it, then
starts the others one at a time (parallel joins flap on 2 cores), each by SST,
and waits for a Synced Primary component of all of them (plus garbd). Users:
root (socket, no password: the lab's admin), ``hacore`` (the adapter's, its
password in ``STATE/galera-secret``, mode 600) and ``app`` (a client without
SUPER or READ ONLY ADMIN, so that fencing with read_only really stops it).
``down`` stops every process by PID and removes the data.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from adapters.galera.credentials import Credentials, from_secret_file
from adapters.galera.mycnf import NodeConfig, render
from adapters.galera.probe import Observation, probe
from adapters.galera.server import Server
from adapters.galera.sql import Endpoint, SqlUnavailable, query
from adapters.lab import net
from adapters.lab.lab import (
    WITNESS_IP,
    Lab,
    LabNode,
    _pid_alive,
    boot_id,
    identity_problem,
    proc_start_time,
    stop_pid,
)
from adapters.lab.net import LabError

_HERE = Path(__file__).resolve().parent
ROOT = Credentials("root", "")
APP = Credentials("app", "app")  # the lab's client: the password is no secret
BUSINESS_SCHEMA = "app"
GARBD_PORT = 4567


@dataclass
class GaleraState:
    cluster: str
    witness: bool
    flush_log_at_trx_commit: int = 1
    provider_options: list[str] = field(default_factory=list)
    garbd_pid: int | None = None
    garbd_start: int | None = None
    boot: str = ""


class GaleraLab:
    """The Galera side of a lab; ``Lab`` keeps the network and keepalived."""

    def __init__(self, lab: Lab, state: GaleraState) -> None:
        self.lab = lab
        self.state = state

    # ------------------------------------------------------------ loading --

    @staticmethod
    def path(lab: Lab) -> Path:
        return lab.dir / "galera.json"

    @classmethod
    def load(cls, lab: Lab) -> GaleraLab | None:
        """None when the lab runs no Galera."""
        try:
            raw = json.loads(cls.path(lab).read_text())
        except FileNotFoundError:
            return None
        except json.JSONDecodeError as exc:
            raise LabError(f"{cls.path(lab)}: not valid JSON ({exc})") from None
        return cls(lab, GaleraState(**raw))

    def save(self) -> None:
        tmp = self.path(self.lab).with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self.state), indent=2) + "\n")
        os.replace(tmp, self.path(self.lab))

    def node_dir(self, node: LabNode) -> Path:
        return self.lab.node_dir(node) / "galera"

    def server(self, name: str) -> Server:
        node = self.lab.node(name)
        launcher = (
            "ip", "netns", "exec", node.netns,
            sys.executable, "-I", "-S", str(_HERE / "launch.py"), str(self.node_dir(node)), "-",
            "--",
        )  # fmt: skip
        return Server(self.node_dir(node), launcher=launcher, inner_root="/tmp")

    def endpoint(self, name: str) -> Endpoint:
        return Endpoint(socket=self.server(name).socket)

    @property
    def secret_path(self) -> Path:
        return self.lab.dir / "galera-secret"

    def credentials(self) -> Credentials:
        return from_secret_file(self.secret_path, "hacore")

    def probe(self, name: str, timeout: float = 2.0) -> Observation:
        return probe(self.endpoint(name), self.credentials(), timeout)

    def members(self) -> list[str]:
        out = [n.ip for n in self.lab.state.nodes]
        return out + ([WITNESS_IP] if self.state.witness else [])

    # ----------------------------------------------------------------- up --

    @classmethod
    def up(
        cls,
        lab: Lab,
        *,
        witness: bool = False,
        flush_log_at_trx_commit: int = 1,
        provider_options: tuple[str, ...] = (),
        timeout: float = 120.0,
    ) -> GaleraLab:
        net.require_root(("ip", "nft", "mariadbd", "mariadb-install-db", "rsync", "garbd"))
        if witness and not lab.state.witness:
            raise LabError("--witness: the lab has no witness namespace")
        state = GaleraState(
            cluster=lab.state.prefix,
            witness=witness,
            flush_log_at_trx_commit=flush_log_at_trx_commit,
            provider_options=["gcache.size=16M", *provider_options],
            boot=boot_id(),
        )
        g = cls(lab, state)
        g.save()  # first, so that down always finds what to remove
        try:
            secret = g.secret_path
            fd = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(18) + "\n")
            for node in lab.state.nodes:
                g._prepare(node)
            g._bootstrap_first(timeout)
            for node in lab.state.nodes[1:]:
                g.server(node.name).start()
                g.wait_synced(node.name, timeout, size=None)
            if witness:
                g.start_garbd()
            g.wait_all_synced(timeout)
        except BaseException:
            g.down()
            raise
        return g

    def _prepare(self, node: LabNode) -> None:
        d = self.node_dir(node)
        (d / "data").mkdir(parents=True, exist_ok=True)
        cfg = NodeConfig(
            name=node.name,
            address=node.ip,
            members=tuple(self.members()),
            cluster_name=self.state.cluster,
            root="/tmp",
            flush_log_at_trx_commit=self.state.flush_log_at_trx_commit,
            provider_options=tuple(self.state.provider_options),
        )
        (d / "my.cnf").write_text(render(cfg))
        for p in (d, d / "data", d / "my.cnf"):
            shutil.chown(p, "mysql", "mysql")
        os.chmod(d, 0o700)

    def _bootstrap_first(self, timeout: float) -> None:
        first = self.lab.state.nodes[0]
        server = self.server(first.name)
        argv = [
            *server.launcher, "mariadb-install-db", "--defaults-file=/tmp/my.cnf",
            "--user=mysql", "--auth-root-authentication-method=normal", "--skip-test-db",
        ]  # fmt: skip
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)  # noqa: S603
        if proc.returncode != 0:
            raise LabError(f"mariadb-install-db on {first.name}: exit {proc.returncode}: "
                           f"{proc.stdout[-500:]}{proc.stderr[-500:]}")  # fmt: skip
        server.start(new_cluster=True)
        self.wait_ready_root(first.name, timeout)
        password = self.secret_path.read_text().split("\n", 1)[0]
        for sql in (
            f"CREATE USER IF NOT EXISTS 'hacore'@'localhost' IDENTIFIED BY '{password}'",
            "GRANT ALL PRIVILEGES ON *.* TO 'hacore'@'localhost' WITH GRANT OPTION",
            f"CREATE DATABASE IF NOT EXISTS {BUSINESS_SCHEMA}",
            "CREATE USER IF NOT EXISTS 'app'@'localhost' IDENTIFIED BY 'app'",
            f"GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP ON {BUSINESS_SCHEMA}.* "
            "TO 'app'@'localhost'",
        ):
            query(self.endpoint(first.name), ROOT, sql, 10.0)

    def wait_ready_root(self, name: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        server = self.server(name)
        while True:
            if not server.running():
                raise LabError(f"{name}: mariadbd exited during start; see {server.root}/*.out")
            obs = probe(self.endpoint(name), ROOT, 2.0)
            if obs.status is not None and obs.status.member:
                return
            if time.monotonic() > deadline:
                raise LabError(f"{name}: not ready within {timeout} s ({obs.describe()})")
            time.sleep(0.05)

    def wait_synced(self, name: str, timeout: float, size: int | None) -> Observation:
        deadline = time.monotonic() + timeout
        server = self.server(name)
        while True:
            if not server.running():
                raise LabError(f"{name}: mariadbd is not running; see {server.root}/error.log")
            obs = self.probe(name)
            s = obs.status
            if s is not None and s.synced and (size is None or s.cluster_size == size):
                return obs
            if time.monotonic() > deadline:
                raise LabError(f"{name}: not Synced within {timeout} s ({obs.describe()})")
            time.sleep(0.05)

    def wait_all_synced(self, timeout: float) -> None:
        size = len(self.lab.state.nodes) + (1 if self.state.witness else 0)
        for node in self.lab.state.nodes:
            self.wait_synced(node.name, timeout, size)

    # -------------------------------------------------------------- garbd --

    def witness_dir(self) -> Path:
        return self.lab.dir / "garbd"

    def garbd_running(self) -> bool:
        pid = self.state.garbd_pid
        return (
            _pid_alive(pid)
            and identity_problem(pid, self.state.garbd_start, self.state.boot, "garbd") is None
        )

    def start_garbd(self) -> None:
        if self.garbd_running():
            return
        d = self.witness_dir()
        d.mkdir(exist_ok=True)  # garbd writes gvwstate.dat into its working directory
        nodes = ",".join(n.ip for n in self.lab.state.nodes)
        argv = [
            "ip", "netns", "exec", f"{self.lab.state.prefix}-w",
            "garbd", "--address", f"gcomm://{nodes}", "--group", self.state.cluster,
            "--name", "witness", "--options", f"gmcast.listen_addr=tcp://0.0.0.0:{GARBD_PORT}",
            "--log", str(d / "garbd.log"),
        ]  # fmt: skip
        with open(d / "garbd.out", "ab") as out:
            proc = subprocess.Popen(  # noqa: S603 - argv list
                argv, cwd=d, start_new_session=True,
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        self.state.garbd_pid = proc.pid
        self.state.garbd_start = proc_start_time(proc.pid)
        self.save()

    # ------------------------------------------------------------- status --

    def status(self) -> list[dict[str, Any]]:
        out = []
        for node in self.lab.state.nodes:
            server = self.server(node.name)
            row: dict[str, Any] = {"name": node.name, "mariadbd_pid": server.pid()}
            if row["mariadbd_pid"] is None:
                row["wsrep"] = "not running"
            else:
                row["wsrep"] = self.probe(node.name, timeout=1.0).describe()
            out.append(row)
        if self.state.witness:
            out.append(
                {
                    "name": "garbd",
                    "garbd_pid": self.state.garbd_pid if self.garbd_running() else None,
                }
            )
        return out

    # --------------------------------------------------------------- down --

    def down(self) -> list[str]:
        """Stop garbd and every mariadbd by PID, remove their data and galera.json."""
        problems: list[str] = []
        pid = self.state.garbd_pid
        problem = identity_problem(pid, self.state.garbd_start, self.state.boot, "garbd")
        if problem is None:
            stop_pid(pid, timeout=5.0)
        else:
            problems.append(problem)
        for node in self.lab.state.nodes:
            server = self.server(node.name)
            try:
                server.stop(timeout=10.0)
            except Exception as exc:  # down removes the rest and reports
                problems.append(f"{node.name}: {exc}")
            shutil.rmtree(self.node_dir(node), ignore_errors=True)
        shutil.rmtree(self.witness_dir(), ignore_errors=True)
        self.secret_path.unlink(missing_ok=True)
        self.path(self.lab).unlink(missing_ok=True)
        return problems


def sql_root(g: GaleraLab, name: str, sql: str, timeout: float = 10.0) -> list[tuple[Any, ...]]:
    """A statement as the lab's admin (tests and scenarios); SqlUnavailable on failure."""
    return query(g.endpoint(name), ROOT, sql, timeout)


__all__ = ["APP", "BUSINESS_SCHEMA", "GaleraLab", "SqlUnavailable", "sql_root"]
