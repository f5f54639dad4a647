"""GlusterFS in the lab: a trusted pool of the nodes' glusterd, one replica volume.

Per node, ``DATA/NODE/`` holds glusterd's state (``lib``, ``run``, ``log``:
bound over /var/lib/glusterd, /run and /var/log/glusterfs in the node's
private mount namespace by :mod:`adapters.lab.gluster_launch`: each glusterd
needs its own /run/glusterd.socket), the node's brick (``brick``) and the
mount point (``mnt``). DATA is a fresh 0700 directory outside /run
(``/var/tmp/hacore-gluster-PREFIX-*``, in gluster.json): glusterd's own /run
hides the host's, so a brick under the lab's state directory in /run would
not be reachable by its brick process. The FUSE mount is
made inside glusterd's mount namespace, so only that node sees it; the host
reaches it through ``/proc/GLUSTERD_PID/root`` (:meth:`GlusterLab.mount_view`)
and runs the CLI there through ``nsenter`` (:meth:`GlusterLab.cli`).

``up`` starts every glusterd, probes the peers from the first node, creates a
replica volume (one brick a node; ``force``: the bricks sit on the root file
system), lowers ``network.ping-timeout`` so that a partition is noticed in
seconds, starts it and mounts it on every node. ``down`` unmounts, stops and
deletes the volume (best effort), stops every glusterd by PID, then every
brick, self-heal daemon and FUSE client still in the node namespaces (they
outlive glusterd) by PID, and removes the data.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from adapters.gluster.cli import GlusterCli
from adapters.gluster.errors import GlusterError
from adapters.gluster.ops import volume_status
from adapters.lab import net
from adapters.lab.lab import (
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
VOLUME = "gv0"
PING_TIMEOUT_S = 3
# The processes a glusterd starts (bricks, self-heal daemon, FUSE clients) and itself.
GLUSTER_COMMANDS = ("glusterd", "glusterfsd", "glusterfs")


DATA_PARENT = Path("/var/tmp")


@dataclass
class GlusterState:
    volume: str
    data_root: str
    boot: str = ""
    glusterd_pids: dict[str, int] = field(default_factory=dict)
    glusterd_starts: dict[str, int] = field(default_factory=dict)
    mounted: list[str] = field(default_factory=list)


class GlusterLab:
    """The Gluster side of a lab; ``Lab`` keeps the network (and keepalived)."""

    def __init__(self, lab: Lab, state: GlusterState) -> None:
        self.lab = lab
        self.state = state

    # ------------------------------------------------------------ loading --

    @staticmethod
    def path(lab: Lab) -> Path:
        return lab.dir / "gluster.json"

    @classmethod
    def load(cls, lab: Lab) -> GlusterLab | None:
        """None when the lab runs no Gluster."""
        try:
            raw = json.loads(cls.path(lab).read_text())
        except FileNotFoundError:
            return None
        except json.JSONDecodeError as exc:
            raise LabError(f"{cls.path(lab)}: not valid JSON ({exc})") from None
        if not isinstance(raw, dict) or set(raw) != set(GlusterState.__dataclass_fields__):
            raise LabError(f"{cls.path(lab)}: not a gluster lab state; refusing to trust it")
        pids, starts = raw["glusterd_pids"], raw["glusterd_starts"]
        names = {n.name for n in lab.state.nodes}
        for table in (pids, starts):
            if not isinstance(table, dict) or not set(table) <= names:
                raise LabError(f"{cls.path(lab)}: PIDs of unknown nodes; refusing to trust it")
            if not all(
                isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in table.values()
            ):
                raise LabError(f"{cls.path(lab)}: a PID is not a positive integer")
        if raw["volume"] != VOLUME or not isinstance(raw["boot"], str):
            raise LabError(f"{cls.path(lab)}: unexpected volume or boot id")
        _check_data_root(cls.path(lab), raw["data_root"], lab.state.prefix)
        if not isinstance(raw["mounted"], list) or not set(raw["mounted"]) <= names:
            raise LabError(f"{cls.path(lab)}: mounts on unknown nodes")
        return cls(lab, GlusterState(**raw))

    def save(self) -> None:
        tmp = self.path(self.lab).with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self.state), indent=2) + "\n")
        os.replace(tmp, self.path(self.lab))

    def node_dir(self, node: LabNode) -> Path:
        self.lab.node(node.name)  # a lab node's name (validated): no path of its own
        return Path(self.state.data_root) / node.name

    def brick_dir(self, name: str) -> Path:
        return self.node_dir(self.lab.node(name)) / "brick"

    def brick(self, name: str) -> str:
        """The brick's name as Gluster spells it: ``ADDRESS:PATH``."""
        return f"{self.lab.node(name).ip}:{self.brick_dir(name)}"

    def mount_dir(self, name: str) -> Path:
        """The mount point, as seen inside the node's mount namespace."""
        return self.node_dir(self.lab.node(name)) / "mnt"

    def glusterd_pid(self, name: str) -> int:
        pid = self.state.glusterd_pids.get(name)
        if pid is None or not self.glusterd_running(name):
            raise LabError(f"{name}: glusterd is not running")
        return pid

    def glusterd_running(self, name: str) -> bool:
        pid = self.state.glusterd_pids.get(name)
        start = self.state.glusterd_starts.get(name)
        return _pid_alive(pid) and identity_problem(pid, start, self.state.boot, "glusterd") is None

    def launcher(self, name: str) -> tuple[str, ...]:
        """The argv prefix that runs a command in the node's glusterd namespaces."""
        pid = self.glusterd_pid(name)
        return ("nsenter", f"--net=/proc/{pid}/ns/net", f"--mount=/proc/{pid}/ns/mnt", "--")

    def cli(self, name: str) -> GlusterCli:
        return GlusterCli(launcher=self.launcher(name))

    def mount_view(self, name: str) -> Path:
        """The node's mounted volume, as the host reaches it (glusterd's root)."""
        return Path(f"/proc/{self.glusterd_pid(name)}/root") / str(self.mount_dir(name)).lstrip("/")

    # ----------------------------------------------------------------- up --

    @classmethod
    def up(cls, lab: Lab, *, timeout: float = 120.0) -> GlusterLab:
        net.require_root(("ip", "nft", "glusterd", "gluster", "nsenter", "mount.glusterfs"))
        if len(lab.state.nodes) < 2:
            raise LabError("--gluster: a replica volume needs at least 2 nodes")
        prefix = f"hacore-gluster-{lab.state.prefix}-"
        data = tempfile.mkdtemp(prefix=prefix, dir=DATA_PARENT)  # 0700, fresh
        g = cls(lab, GlusterState(volume=VOLUME, data_root=data, boot=boot_id()))
        g.save()  # first, so that down always finds what to remove
        try:
            g._up(timeout)
        except GlusterError as exc:
            g.down()
            raise LabError(f"gluster: {exc}") from None
        except BaseException:
            g.down()
            raise
        return g

    def _up(self, timeout: float) -> None:
        for node in self.lab.state.nodes:
            self._start_glusterd(node, timeout)
        self._form_pool(timeout)
        self._create_volume(timeout)
        for node in self.lab.state.nodes:
            self.mount(node.name, timeout)

    def _start_glusterd(self, node: LabNode, timeout: float) -> None:
        d = self.node_dir(node)
        for sub in ("lib", "run", "log", "brick", "mnt"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        argv = [
            "ip", "netns", "exec", node.netns,
            sys.executable, "-I", "-S", str(_HERE / "gluster_launch.py"), str(d),
        ]  # fmt: skip
        with open(d / "glusterd.out", "ab") as out:
            proc = subprocess.Popen(  # noqa: S603 - argv list
                argv, start_new_session=True,
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        self.state.glusterd_pids[node.name] = proc.pid
        start = proc_start_time(proc.pid)
        if start is not None:
            self.state.glusterd_starts[node.name] = start
        self.save()
        self._wait_glusterd(node, proc.pid, timeout)

    def _wait_glusterd(self, node: LabNode, pid: int, timeout: float) -> None:
        # Until the launcher has exec'd glusterd, /proc/PID/ns/mnt is not its namespace.
        deadline = time.monotonic() + timeout
        while True:
            try:
                comm = Path(f"/proc/{pid}/comm").read_text().strip()
            except OSError:
                comm = ""
            if not _pid_alive(pid):
                raise LabError(f"{node.name}: glusterd exited; see {self.node_dir(node)}/log")
            if comm == "glusterd":
                try:
                    self.cli(node.name).run(["pool", "list"], timeout_s=5)
                    return
                except GlusterError:
                    pass
            if time.monotonic() > deadline:
                raise LabError(f"{node.name}: glusterd did not answer within {timeout} s")
            time.sleep(0.1)

    def _form_pool(self, timeout: float) -> None:
        first, *others = self.lab.state.nodes
        cli = self.cli(first.name)
        for node in others:
            cli.run(["peer", "probe", node.ip], timeout_s=30)
        deadline = time.monotonic() + timeout
        while True:
            doc = cli.xml(["pool", "list"], timeout_s=10)
            if doc.count("<connected>1</connected>") == len(self.lab.state.nodes):
                return
            if time.monotonic() > deadline:
                raise LabError(f"the trusted pool did not form within {timeout} s")
            time.sleep(0.2)

    def _create_volume(self, timeout: float) -> None:
        nodes = self.lab.state.nodes
        cli = self.cli(nodes[0].name)
        bricks = [self.brick(n.name) for n in nodes]
        deadline = time.monotonic() + timeout
        # Right after the probe glusterd may still refuse ("not in 'Peer in Cluster' state").
        while True:
            try:
                cli.run(
                    ["volume", "create", VOLUME, "replica", str(len(nodes)), *bricks, "force"],
                    timeout_s=60,
                )
                break
            except GlusterError as exc:
                if time.monotonic() > deadline:
                    raise LabError(f"volume create: {exc}") from None
                time.sleep(0.5)
        cli.run(
            ["volume", "set", VOLUME, "network.ping-timeout", str(PING_TIMEOUT_S)], timeout_s=60
        )
        cli.run(["volume", "start", VOLUME], timeout_s=60)
        while True:
            status = volume_status(cli, VOLUME, timeout_s=30)
            if len(status.bricks) == len(nodes) and not status.dead_bricks():
                return
            if time.monotonic() > deadline:
                raise LabError(f"volume {VOLUME}: bricks not online within {timeout} s")
            time.sleep(0.2)

    def mount(self, name: str, timeout: float = 60.0) -> None:
        node = self.lab.node(name)
        argv = [
            *self.launcher(name),
            "mount", "-t", "glusterfs", f"{node.ip}:/{VOLUME}", str(self.mount_dir(name)),
        ]  # fmt: skip
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)  # noqa: S603
        if proc.returncode != 0:
            raise LabError(f"{name}: mount: exit {proc.returncode}: {proc.stderr.strip()[:300]}")
        if name not in self.state.mounted:
            self.state.mounted.append(name)
            self.save()

    # ------------------------------------------------------------- status --

    def status(self) -> list[dict[str, Any]]:
        out = []
        for node in self.lab.state.nodes:
            row: dict[str, Any] = {"name": node.name, "glusterd_pid": None, "bricks": "-"}
            if self.glusterd_running(node.name):
                row["glusterd_pid"] = self.state.glusterd_pids[node.name]
                try:
                    st = volume_status(self.cli(node.name), VOLUME, timeout_s=10)
                    row["bricks"] = (
                        f"{len(st.bricks) - len(st.dead_bricks())}/{len(st.bricks)} online"
                    )
                except GlusterError as exc:
                    row["bricks"] = f"unknown ({exc})"
            out.append(row)
        return out

    # --------------------------------------------------------------- down --

    def gluster_pids(self, node: LabNode) -> list[int]:
        """Every glusterd, brick, self-heal daemon and FUSE client in the node's namespace."""
        listed = net.run(["ip", "netns", "pids", node.netns], check=False).split()
        out = []
        for raw in listed:
            try:
                comm = Path(f"/proc/{raw}/comm").read_text().strip()
            except OSError:
                continue
            if comm in GLUSTER_COMMANDS and _pid_alive(int(raw)):  # a zombie is gone already
                out.append(int(raw))
        return out

    def down(self) -> list[str]:
        """Unmount, stop and delete the volume, stop every gluster process by PID,
        remove the data and gluster.json. Returns the problems met (empty: clean)."""
        problems: list[str] = []
        nodes = self.lab.state.nodes
        running = [n for n in nodes if self.glusterd_running(n.name)]
        for node in running:
            if node.name in self.state.mounted:
                argv = [*self.launcher(node.name), "umount", str(self.mount_dir(node.name))]
                subprocess.run(argv, capture_output=True, timeout=30, check=False)  # noqa: S603
        if running:
            cli = self.cli(running[0].name)
            for args in (["volume", "stop", VOLUME, "force"], ["volume", "delete", VOLUME]):
                try:
                    cli.run(args, timeout_s=30)
                except GlusterError:
                    pass  # a half-built lab may have no volume; the processes go anyway
        for node in nodes:
            pid = self.state.glusterd_pids.get(node.name)
            problem = identity_problem(
                pid, self.state.glusterd_starts.get(node.name), self.state.boot,
                f"{node.name}: glusterd",
            )  # fmt: skip
            if problem is None:
                stop_pid(pid, timeout=5.0)
            elif pid is not None and _pid_alive(pid):
                problems.append(problem)
        for node in nodes:
            for pid in self.gluster_pids(node):
                stop_pid(pid, timeout=3.0, group=False)
            end = time.monotonic() + 10.0  # SIGKILLed, but a loaded machine reaps late
            while self.gluster_pids(node) and time.monotonic() < end:
                time.sleep(0.1)
            left = self.gluster_pids(node)
            if left:
                problems.append(f"{node.name}: gluster processes still running: {left}")
        if not problems:  # a brick process still running keeps its data
            shutil.rmtree(self.state.data_root, ignore_errors=True)
        self.path(self.lab).unlink(missing_ok=True)
        return problems


def _check_data_root(path: Path, raw: object, prefix: str) -> None:
    """gluster.json's data directory is one this lab made: under /var/tmp with its
    prefix, a real directory (no link), root's, nobody else's to write."""
    if not isinstance(raw, str):
        raise LabError(f"{path}: data_root is not a path")
    p = Path(raw)
    if (
        p.parent != DATA_PARENT
        or not p.name.startswith(f"hacore-gluster-{prefix}-")
        or "/" in p.name
    ):
        raise LabError(f"{path}: data_root {raw!r} is not this lab's; refusing to trust it")
    try:
        st = os.lstat(p)
    except FileNotFoundError:
        return  # removed already: nothing to act on there
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != 0 or st.st_mode & 0o022:
        raise LabError(f"{path}: data_root {raw!r} is not a root-only directory")


def gluster_status_lines(status: dict[str, Any]) -> list[str]:
    rows = status.get("gluster")
    if rows is None:
        return []
    lines = [f"gluster (volume {VOLUME}):"]
    for row in rows:
        pid = row["glusterd_pid"] or "-"
        lines.append(f"  {row['name']:6} glusterd pid {pid!s:>7} bricks {row['bricks']}")
    return lines
