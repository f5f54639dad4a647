"""A real keepalived cluster on one machine, in network namespaces.

Topology: one *switch* namespace holding a bridge, N *node* namespaces each
joined to it by a veth pair (``eth0`` inside the node, address 10.77.0.<i>),
optionally a *witness* namespace (10.77.0.254, runs nothing: a quorum vote
stand-in). Every namespace, link and nft table name starts with a per-run
prefix (``hl`` + 6 hex digits) so that concurrent labs and leftovers are told
apart; the state of a running lab is ``lab.json`` in its state directory.

Per node: a rendered keepalived.conf, a notify FIFO read by a recorder process
(lines with CLOCK_MONOTONIC times into ``fifo.jsonl``), keepalived started via
``ip netns exec`` in its own session with the node directory bound over /tmp
(so its data/JSON dumps are per node). Processes are stopped by PID: SIGTERM,
then SIGKILL of the process group, and only after checking that the PID is still
the process the lab started (its start time in /proc/PID/stat and the boot id,
recorded at launch): a PID reused after a crash or reboot is never signalled.
Faults are nftables rules in the node namespaces (table ``inet <prefix>``), both
directions.

The state directory is trusted only when it is root's and nobody else can
write it, and every value of ``lab.json`` is validated before it is acted on
(:mod:`adapters.lab.state_file`); node directories are kept inside it, and
what the lab writes there is 0600 (directories 0700).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from adapters.keepalived.config import (
    KeepalivedConfig,
    TrackFile,
    VrrpInstanceSpec,
    parse_advert_int,
)
from adapters.keepalived.fifo import FifoRecord, LineKind, MalformedLine, parse_line
from adapters.lab import net, state_file
from adapters.lab.net import LabError
from hacore import codec

DEFAULT_ROOT = Path("/run/hacore-lab")
SUBNET = "10.77.0"
VIP = f"{SUBNET}.250"
WITNESS_IP = f"{SUBNET}.254"
VRID = 51
INSTANCE = "VI_1"
MAX_NODES = 32
_HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class LabNodeSpec:
    name: str
    priority: int
    preempt: bool = True
    preempt_delay: int = 0  # seconds
    start_as_master: bool = False


@dataclass
class LabNode:
    name: str
    index: int
    netns: str
    ip: str
    priority: int
    preempt: bool
    preempt_delay: int
    start_as_master: bool
    keepalived_pid: int | None = None
    recorder_pid: int | None = None
    # start times (clock ticks after boot, /proc/PID/stat field 22) recorded at launch:
    # with the lab's boot id they tell the process we started from a reused PID
    keepalived_start: int | None = None
    recorder_start: int | None = None
    started_at: float | None = None  # monotonic time of the last keepalived start


@dataclass
class LabState:
    name: str
    prefix: str
    state_dir: str
    advert_int: str  # seconds, as keepalived reads it
    witness: bool
    switch_ns: str
    nodes: list[LabNode] = field(default_factory=list)
    cuts: list[list[str]] = field(default_factory=list)  # directed pairs [from, to]
    loss: dict[str, int] = field(default_factory=dict)
    boot_id: str = ""  # /proc/sys/kernel/random/boot_id when the lab was made


@dataclass(frozen=True)
class Transition:
    """One notify_fifo line of one node, timed by the recorder."""

    t: float
    node: str
    record: FifoRecord


def default_nodes(n: int, priorities: Sequence[int] | None = None) -> list[LabNodeSpec]:
    if not 1 <= n <= MAX_NODES:
        raise LabError(f"--nodes: must be in 1..{MAX_NODES}, got {n}")
    if priorities is None:
        priorities = [max(1, 200 - 50 * i) if n <= 4 else max(1, 250 - 7 * i) for i in range(n)]
    if len(priorities) != n:
        raise LabError(f"--priorities: {len(priorities)} given for {n} nodes")
    return [LabNodeSpec(f"n{i + 1}", p) for i, p in enumerate(priorities)]


def _pid_alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.waitpid(pid, os.WNOHANG)  # reap if it is our child
    except ChildProcessError:
        pass
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def proc_start_time(pid: int) -> int | None:
    """The process's start time in clock ticks after boot (/proc/PID/stat field 22), which
    exec does not change; None when there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


def boot_id() -> str:
    return Path("/proc/sys/kernel/random/boot_id").read_text().strip()


def identity_problem(pid: int | None, start: int | None, boot: str, what: str) -> str | None:
    """Why the live process ``pid`` is not the one recorded (started at ``start`` in boot
    ``boot``), or None when it is, or when there is no live process with that PID."""
    if pid is None or not _pid_alive(pid):
        return None
    refuse = "not signalling it"
    if start is None:
        return (
            f"{what}: pid {pid} has no start time recorded in lab.json, so it cannot be "
            f"told from a reused PID; {refuse}"
        )
    if boot != boot_id():
        return (
            f"{what}: pid {pid} was recorded before a reboot (boot id {boot or '?'}), so it "
            f"is not the process the lab started; {refuse}"
        )
    actual = proc_start_time(pid)
    if actual is not None and actual != start:
        return (
            f"{what}: pid {pid} is not the process the lab started (it started at tick "
            f"{actual}, the lab's at tick {start}): the PID was reused; {refuse}"
        )
    return None


def _group_members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


def stop_pid(pid: int | None, *, timeout: float = 3.0, group: bool = True) -> None:
    """SIGTERM the process, wait, then SIGKILL its process group (it leads its own session)."""
    if pid is None:
        return
    if _pid_alive(pid):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _pid_alive(pid) and (not group or not _group_members(pid)):
            return
        time.sleep(0.02)
    try:
        if group:
            os.killpg(pid, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    for _ in range(100):
        if not _pid_alive(pid) and (not group or not _group_members(pid)):
            return
        time.sleep(0.02)


class Lab:
    """A running (or half-built) lab, loaded from its state directory."""

    def __init__(self, state: LabState) -> None:
        self.state = state

    # ------------------------------------------------------------ loading --

    @property
    def dir(self) -> Path:
        return Path(self.state.state_dir)

    @staticmethod
    def state_dir_for(name: str, state_dir: str | Path | None) -> Path:
        return Path(state_dir) if state_dir is not None else DEFAULT_ROOT / name

    @classmethod
    def load(cls, name: str = "lab", state_dir: str | Path | None = None) -> Lab:
        d = cls.state_dir_for(name, state_dir)
        path = d / state_file.STATE_FILE
        missing = LabError(f"no lab {name!r} (no {path}); start one with: hacore lab up")
        if not os.path.lexists(d):
            raise missing
        try:
            text = state_file.read_state_text(d)
        except FileNotFoundError:
            raise missing from None
        raw = state_file.parse_json(path, text)
        fields = state_file.check_fields(path, raw, LabState)
        nodes_raw = fields.pop("nodes", [])
        if not isinstance(nodes_raw, list):
            raise LabError(f"{path}: nodes is not a list; refusing to trust it")
        node_fields = [state_file.check_fields(path, n, LabNode) for n in nodes_raw]
        state_file.validate_state(path, {**fields, "nodes": node_fields}, d, MAX_NODES)
        for i, n in enumerate(node_fields, start=1):
            state_file.validate_node(path, n, fields["prefix"], SUBNET, i)
        return cls(LabState(nodes=[LabNode(**n) for n in node_fields], **fields))

    def save(self) -> None:
        state_file.write_state_text(self.dir, json.dumps(asdict(self.state), indent=2) + "\n")

    def node(self, name: str) -> LabNode:
        for n in self.state.nodes:
            if n.name == name:
                return n
        names = ", ".join(n.name for n in self.state.nodes)
        raise LabError(f"no node {name!r} in lab {self.state.name!r} (nodes: {names})")

    def node_dir(self, node: LabNode) -> Path:
        """The node's directory, inside the state directory (names are validated on
        load, and checked again here: no path of lab.json's leads outside)."""
        if not state_file.NAME.fullmatch(node.name):
            raise LabError(f"node name {node.name!r} is not a lab node name")
        return self.dir / node.name

    def _keepalived_problem(self, node: LabNode) -> str | None:
        return identity_problem(
            node.keepalived_pid, node.keepalived_start, self.state.boot_id,
            f"{node.name}: keepalived",
        )  # fmt: skip

    def _recorder_problem(self, node: LabNode) -> str | None:
        return identity_problem(
            node.recorder_pid, node.recorder_start, self.state.boot_id, f"{node.name}: recorder"
        )

    def keepalived_running(self, node: LabNode) -> bool:
        """The keepalived this lab started for ``node`` is alive (not a reused PID)."""
        return _pid_alive(node.keepalived_pid) and self._keepalived_problem(node) is None

    def recorder_running(self, node: LabNode) -> bool:
        return _pid_alive(node.recorder_pid) and self._recorder_problem(node) is None

    @property
    def advert_interval_us(self) -> int:
        return int(Decimal(self.state.advert_int) * 1_000_000)

    # ----------------------------------------------------------------- up --

    @classmethod
    def up(
        cls,
        nodes: Sequence[LabNodeSpec],
        *,
        name: str = "lab",
        advert_int: str | float | Decimal = "0.1",
        witness: bool = False,
        state_dir: str | Path | None = None,
        wait: bool = True,
        wait_timeout: float = 15.0,
        start: bool = True,
    ) -> Lab:
        net.require_root()
        interval = parse_advert_int(advert_int)
        if not 1 <= len(nodes) <= MAX_NODES:
            raise LabError(f"nodes: must be 1..{MAX_NODES}, got {len(nodes)}")
        if len({n.name for n in nodes}) != len(nodes):
            raise LabError("nodes: names must be unique")
        d = cls.state_dir_for(name, state_dir)
        if (d / "lab.json").exists():
            raise LabError(f"lab {name!r} is already up ({d}); run: hacore lab down --name {name}")
        state_file.trusted_dir(d, create=True)
        prefix = "hl" + secrets.token_hex(3)
        state = LabState(
            name=name,
            prefix=prefix,
            state_dir=str(d),
            advert_int=format(interval.normalize(), "f"),
            witness=witness,
            switch_ns=f"{prefix}-sw",
            boot_id=boot_id(),
        )
        for i, spec in enumerate(nodes, start=1):
            state.nodes.append(
                LabNode(
                    name=spec.name,
                    index=i,
                    netns=f"{prefix}-{spec.name}",
                    ip=f"{SUBNET}.{i}",
                    priority=spec.priority,
                    preempt=spec.preempt,
                    preempt_delay=spec.preempt_delay,
                    start_as_master=spec.start_as_master,
                )
            )
        lab = cls(state)
        lab.save()  # before anything exists, so that `down` can always clean up
        try:
            lab._build_network()
            for node in state.nodes:
                lab._prepare_node(node)
            if start:
                lab.start_together()
            lab.save()
            if start and wait:
                lab.wait_for_one_master(wait_timeout)
        except BaseException:
            lab.down()
            raise
        return lab

    def _namespaces(self) -> list[str]:
        out = [self.state.switch_ns] + [n.netns for n in self.state.nodes]
        if self.state.witness:
            out.append(f"{self.state.prefix}-w")
        return out

    def _build_network(self) -> None:
        p = self.state.prefix
        sw = self.state.switch_ns
        br = f"{p}br"
        net.netns_add(sw)
        net.run(["ip", "-n", sw, "link", "add", br, "type", "bridge"])
        net.run(["ip", "-n", sw, "link", "set", br, "up"])
        members: list[tuple[str, str, str]] = [
            (n.netns, n.ip, str(n.index)) for n in self.state.nodes
        ]
        if self.state.witness:
            members.append((f"{p}-w", WITNESS_IP, "w"))
        for ns, ip, tag in members:
            inner, outer = f"{p}{tag}a", f"{p}{tag}b"
            net.netns_add(ns)
            net.run(["ip", "link", "add", inner, "type", "veth", "peer", "name", outer])
            net.run(["ip", "link", "set", inner, "netns", ns])
            net.run(["ip", "link", "set", outer, "netns", sw])
            net.run(["ip", "-n", ns, "link", "set", inner, "name", "eth0"])
            net.run(["ip", "-n", ns, "addr", "add", f"{ip}/24", "dev", "eth0"])
            net.run(["ip", "-n", ns, "link", "set", "eth0", "up"])
            net.run(["ip", "-n", sw, "link", "set", outer, "master", br])
            net.run(["ip", "-n", sw, "link", "set", outer, "up"])
            net.nft(
                ns,
                f"table inet {p} {{\n"
                "  chain input { type filter hook input priority 0; policy accept; }\n"
                "  chain output { type filter hook output priority 0; policy accept; }\n"
                "}\n",
            )

    def render_config(self, node: LabNode) -> str:
        peers = tuple(n.ip for n in self.state.nodes if n.name != node.name)
        inst = VrrpInstanceSpec(
            name=INSTANCE,
            vrid=VRID,
            interface="eth0",
            priority=node.priority,
            unicast_src_ip=node.ip,
            unicast_peers=peers if peers else (WITNESS_IP,),
            virtual_ipaddresses=(f"{VIP}/24",),
            advert_int=Decimal(self.state.advert_int),
            preempt=node.preempt,
            preempt_delay=node.preempt_delay,
            start_as_master=node.start_as_master,
            # dynamic priority bias: `set_bias` writes an integer added to the priority
            # (not for the address owner: keepalived ignores an owner's tracking)
            track_files=() if node.priority == 255 else (TrackFile("bias", "/tmp/bias", weight=1),),
        )
        # Paths as keepalived sees them: the node directory is bound over /tmp.
        cfg = KeepalivedConfig(
            router_id=f"{self.state.prefix}-{node.name}",
            instances=(inst,),
            notify_fifo="/tmp/notify.fifo",
        )
        return cfg.render()

    def _prepare_node(self, node: LabNode) -> None:
        d = self.node_dir(node)
        d.mkdir(mode=state_file.DIR_MODE, exist_ok=True)
        os.chmod(d, state_file.DIR_MODE)
        _write_private(d / "keepalived.conf", self.render_config(node))
        fifo = d / "notify.fifo"
        if not fifo.exists():
            os.mkfifo(fifo, 0o600)
        proc = subprocess.Popen(  # noqa: S603 - argv list
            [
                sys.executable,
                "-I",
                "-S",
                str(_HERE / "recorder.py"),
                str(fifo),
                str(d / "fifo.jsonl"),
                self.state.prefix,
            ],
            start_new_session=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        node.recorder_pid = proc.pid
        node.recorder_start = proc_start_time(proc.pid)

    # ---------------------------------------------------------- processes --

    def start_together(self, names: Sequence[str] | None = None) -> float:
        """Start several nodes' keepalived through one gate, so that they start together.
        Returns the monotonic time the gate opened."""
        chosen = [self.node(n) for n in names] if names is not None else self.state.nodes
        gate = self.dir / "go"
        gate.unlink(missing_ok=True)
        for node in chosen:
            (self.node_dir(node) / "launcher.ready").unlink(missing_ok=True)
            self.start(node.name, gate=gate)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if all((self.node_dir(n) / "launcher.ready").exists() for n in chosen):
                break
            time.sleep(0.005)
        else:
            raise LabError("keepalived launchers did not get ready within 10 s")
        gate.touch()
        now = time.monotonic()
        for node in chosen:
            node.started_at = now
        self.save()
        return now

    def start(self, name: str, gate: Path | None = None) -> None:
        node = self.node(name)
        if self.keepalived_running(node):
            raise LabError(f"{name}: keepalived already runs (pid {node.keepalived_pid})")
        d = self.node_dir(node)
        for stale in ("keepalived.pid", "vrrp.pid", "checkers.pid"):
            # after a SIGKILL they remain, and keepalived then refuses to start
            (d / stale).unlink(missing_ok=True)
        argv = [
            "ip", "netns", "exec", node.netns,
            sys.executable, "-I", "-S", str(_HERE / "launch.py"), str(d), str(gate or "-"), "--",
            "keepalived", "-f", "/tmp/keepalived.conf",
            "-p", "/tmp/keepalived.pid", "-r", "/tmp/vrrp.pid", "-c", "/tmp/checkers.pid",
            "-n", "-l", "-D", "-P", "--config-id", f"{self.state.prefix}-{node.name}",
        ]  # fmt: skip
        log_fd = os.open(
            d / "keepalived.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600
        )
        with open(log_fd, "ab") as log:
            proc = subprocess.Popen(  # noqa: S603 - argv list
                argv,
                start_new_session=True,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        node.keepalived_pid = proc.pid
        node.keepalived_start = proc_start_time(proc.pid)
        node.started_at = time.monotonic()
        self.save()

    def kill(self, name: str) -> float:
        """SIGKILL the keepalived process group (a crash: no priority-0 advert). Returns t."""
        node = self.node(name)
        pid = node.keepalived_pid
        problem = self._keepalived_problem(node)
        if problem is not None:
            raise LabError(problem)
        if not _pid_alive(pid):
            raise LabError(f"{name}: keepalived is not running")
        assert pid is not None
        t = time.monotonic()
        os.killpg(pid, signal.SIGKILL)
        for _ in range(250):
            if not _pid_alive(pid) and not _group_members(pid):
                break
            time.sleep(0.01)
        node.keepalived_pid = None
        self.save()
        return t

    def stop(self, name: str) -> float:
        """SIGTERM keepalived (a clean stop: priority-0 advert, STOP line). Returns t."""
        node = self.node(name)
        problem = self._keepalived_problem(node)
        if problem is not None:
            raise LabError(problem)
        t = time.monotonic()
        stop_pid(node.keepalived_pid)
        node.keepalived_pid = None
        self.save()
        return t

    def set_bias(self, name: str, value: int) -> float:
        """Write the node's track_file: keepalived adds ``value`` to its priority (clamped
        to 1..254) at once, and reports the change on the FIFO. Returns t."""
        node = self.node(name)
        if not -254 <= value <= 254:
            raise LabError(f"bias: must be in -254..254, got {value}")
        path = self.node_dir(node) / "bias"
        tmp = path.with_suffix(".tmp")
        _write_private(tmp, f"{value}\n")
        t = time.monotonic()
        os.replace(tmp, path)
        return t

    def restart(self, name: str) -> None:
        node = self.node(name)
        if self.keepalived_running(node):
            self.stop(name)
        self.start(name)

    # ------------------------------------------------------------- faults --

    def _node_or_witness_ip(self, name: str) -> str:
        if name in ("w", "witness") and self.state.witness:
            return WITNESS_IP
        return self.node(name).ip

    def _apply_rules(self) -> tuple[float, float]:
        """Rewrite every namespace's rules, one nft run each. Returns the monotonic times the
        first and the last namespace's rules were in place: a new cut takes effect with
        the first of its two ends (either end's rules drop the pair both ways), a removed
        one with the last."""
        first: float | None = None
        p = self.state.prefix
        members = [(n.name, n.netns) for n in self.state.nodes]
        if self.state.witness:
            members.append(("w", f"{p}-w"))
        for name, ns in members:
            script = f"flush chain inet {p} input\nflush chain inet {p} output\n"
            for src, dst in sorted(tuple(c) for c in self.state.cuts):
                if src == name:
                    script += (
                        f"add rule inet {p} output ip daddr {self._node_or_witness_ip(dst)} drop\n"
                    )
                if dst == name:
                    script += (
                        f"add rule inet {p} input ip saddr {self._node_or_witness_ip(src)} drop\n"
                    )
            pct = self.state.loss.get(name, 0)
            if pct:
                # nft refuses `numgen random mod 100 < 100` (the value must be 0..99)
                match = "" if pct >= 100 else f"numgen random mod 100 < {pct} "
                for chain in ("input", "output"):
                    script += f"add rule inet {p} {chain} {match}drop\n"
            net.nft(ns, script)
            if first is None:
                first = time.monotonic()
        last = time.monotonic()
        return (last if first is None else first), last

    def _all_members(self) -> list[str]:
        names = [n.name for n in self.state.nodes]
        return names + (["w"] if self.state.witness else [])

    def partition(self, groups: Sequence[Sequence[str]]) -> float:
        """Cut every pair across groups, both directions; nodes not named form one more group.
        Returns when the first namespace's rules were in place (see ``_apply_rules``)."""
        everyone = self._all_members()
        named = [x for g in groups for x in g]
        for x in named:
            if x not in everyone:
                raise LabError(f"partition: unknown node {x!r} (nodes: {', '.join(everyone)})")
        if len(set(named)) != len(named):
            raise LabError("partition: a node appears in two groups")
        rest = [x for x in everyone if x not in named]
        all_groups = [list(g) for g in groups] + ([rest] if rest else [])
        cuts = set(tuple(c) for c in self.state.cuts)
        for i, g in enumerate(all_groups):
            for h in all_groups[i + 1 :]:
                for a in g:
                    for b in h:
                        cuts.add((a, b))
                        cuts.add((b, a))
        self.state.cuts = [list(c) for c in sorted(cuts)]
        t, _ = self._apply_rules()
        self.save()
        return t

    def isolate(self, name: str) -> float:
        self.node(name)
        return self.partition([[name]])

    def uncut(self, src: str, dst: str) -> float:
        """Let ``src``'s packets reach ``dst`` again (one direction of a partition)."""
        self.state.cuts = [c for c in self.state.cuts if c != [src, dst]]
        _, t = self._apply_rules()
        self.save()
        return t

    def heal(self) -> float:
        """Remove every partition and loss rule; returns when the last namespace's rules
        were in place (see ``_apply_rules``)."""
        self.state.cuts = []
        self.state.loss = {}
        _, t = self._apply_rules()
        self.save()
        return t

    def set_loss(self, name: str, pct: int) -> None:
        if name != "w":
            self.node(name)
        if not 0 <= pct <= 100:
            raise LabError(f"loss: PCT must be in 0..100, got {pct}")
        self.state.loss[name] = pct
        self._apply_rules()
        self.save()

    # ------------------------------------------------------------- status --

    def transitions(self) -> list[Transition]:
        """Every recorded fifo line of every node, in time order (malformed ones skipped)."""
        out: list[Transition] = []
        for node in self.state.nodes:
            path = self.node_dir(node) / "fifo.jsonl"
            if not path.exists():
                continue
            for seq, raw in enumerate(path.read_text().splitlines(), start=1):
                try:  # a torn or damaged line of the recorder's: skipped, never fatal
                    obj = codec.parse_json(raw)
                    rec = parse_line(obj["line"], seq)
                    t = float(obj["t"])
                except (ValueError, KeyError, TypeError, MalformedLine):  # JsonError: a ValueError
                    continue
                out.append(Transition(t, node.name, rec))
        out.sort(key=lambda tr: (tr.t, tr.node))
        return out

    def vrrp_states(self) -> dict[str, str]:
        """Latest state per node from the fifo; a node whose keepalived is gone is DOWN."""
        states = {n.name: "UNKNOWN" for n in self.state.nodes}
        for tr in self.transitions():
            if tr.record.type == "INSTANCE" and tr.record.kind is LineKind.STATE:
                states[tr.node] = tr.record.state
        for n in self.state.nodes:
            if not self.keepalived_running(n):
                states[n.name] = "DOWN"
        return states

    def refresh(self) -> None:
        """Re-read lab.json: another process (a `hacore lab` command) may have changed it."""
        path = self.dir / "lab.json"
        if path.exists():
            self.state = Lab.load(state_dir=self.dir).state

    def wait_for(self, pred: Callable[[dict[str, str]], bool], timeout: float) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        self.refresh()
        while True:
            states = self.vrrp_states()
            if pred(states):
                return states
            if time.monotonic() > deadline:
                raise LabError(f"timed out after {timeout} s waiting; states: {states}")
            time.sleep(0.02)

    def wait_for_one_master(self, timeout: float = 15.0, quiet: float | None = None) -> str:
        """Wait for exactly one MASTER among running nodes and no fifo line for ``quiet`` s."""
        if quiet is None:
            quiet = 4 * float(self.state.advert_int) + 0.1
        deadline = time.monotonic() + timeout
        while True:
            trs = self.transitions()
            states = self.vrrp_states()
            running = [s for s in states.values() if s != "DOWN"]
            last = trs[-1].t if trs else 0.0
            if (
                running.count("MASTER") == 1
                and all(s in ("MASTER", "BACKUP") for s in running)
                and time.monotonic() - last >= quiet
            ):
                return next(k for k, v in states.items() if v == "MASTER")
            if time.monotonic() > deadline:
                raise LabError(f"no single stable master within {timeout} s; states: {states}")
            time.sleep(0.02)

    def probe(
        self, src: str, dst: str, count: int = 100, timeout: float = 0.5, port: int = 9
    ) -> int:
        """From ``src``'s namespace, open ``count`` TCP connections at once to ``dst`` (a
        port nothing listens on: the answer is an RST) and return how many were answered
        within ``timeout`` s. One SYN out and one reply back per probe, so with loss p on
        one of the two nodes about (1 - p/100)^2 of them are answered."""
        if not 1 <= count <= 1000 or not 0 < timeout < 1:
            raise LabError("probe: count must be 1..1000 and timeout in (0, 1) s")
        argv = [
            "ip", "netns", "exec", self.node(src).netns,
            sys.executable, "-I", "-S", str(_HERE / "probe.py"),
            self._node_or_witness_ip(dst), str(port), str(count), str(timeout),
        ]  # fmt: skip
        return int(net.run(argv).strip())

    def has_vip(self, node: LabNode) -> bool:
        out = net.run(
            ["ip", "-n", node.netns, "-o", "-4", "addr", "show", "dev", "eth0"], check=False
        )
        return f" {VIP}/" in out

    def keepalived_json(self, name: str, timeout: float = 2.0) -> Any:
        """keepalived's own view: SIGJSON makes it write /tmp/keepalived.json (our node dir)."""
        from adapters.keepalived.dump import read_json_dump

        node = self.node(name)
        problem = self._keepalived_problem(node)
        if problem is not None:
            raise LabError(problem)
        if not _pid_alive(node.keepalived_pid):
            raise LabError(f"{name}: keepalived is not running")
        assert node.keepalived_pid is not None
        return read_json_dump(node.keepalived_pid, self.node_dir(node), timeout=timeout)

    def status(self) -> dict[str, Any]:
        states = self.vrrp_states()
        nodes = []
        for n in self.state.nodes:
            nodes.append(
                {
                    "name": n.name,
                    "netns": n.netns,
                    "ip": n.ip,
                    "priority": n.priority,
                    "preempt": n.preempt,
                    "preempt_delay": n.preempt_delay,
                    "keepalived_pid": n.keepalived_pid if self.keepalived_running(n) else None,
                    "recorder_alive": self.recorder_running(n),
                    "vrrp_state": states[n.name],
                    "has_vip": self.has_vip(n),
                    "loss_pct": self.state.loss.get(n.name, 0),
                }
            )
        masters = [x["name"] for x in nodes if x["vrrp_state"] == "MASTER"]
        return {
            "name": self.state.name,
            "prefix": self.state.prefix,
            "state_dir": self.state.state_dir,
            "advert_int": self.state.advert_int,
            "vip": VIP,
            "witness": WITNESS_IP if self.state.witness else None,
            "masters": masters,
            "split_brain": len(masters) > 1,
            "cuts": self.state.cuts,
            "nodes": nodes,
            "galera": galera_status(self),
            "gluster": gluster_status(self),
        }

    # --------------------------------------------------------------- down --

    def down(self, *, keep_state: bool = False) -> list[str]:
        """Stop every process, delete every namespace and link; remove the state dir.

        A recorded PID that now belongs to another process (reused after a crash or a
        reboot) is not signalled; the returned list says which, empty when none."""
        from adapters.lab.galera import GaleraLab  # the Galera side stops first (its data too)
        from adapters.lab.gluster import GlusterLab  # so does Gluster (mounts, bricks, data)

        galera = GaleraLab.load(self)
        problems: list[str] = galera.down() if galera is not None else []
        gluster = GlusterLab.load(self)
        problems += gluster.down() if gluster is not None else []
        for n in self.state.nodes:
            problem = self._keepalived_problem(n)
            if problem is None:
                stop_pid(n.keepalived_pid)
            else:
                problems.append(problem)
            n.keepalived_pid = None
        for n in self.state.nodes:
            problem = self._recorder_problem(n)
            if problem is None:
                stop_pid(n.recorder_pid, timeout=1.0)
            else:
                problems.append(problem)
            n.recorder_pid = None
        existing = set(net.netns_list())
        for ns in self._namespaces():
            if ns in existing:
                net.netns_delete(ns)
        for link in net.links():
            if link.startswith(self.state.prefix):
                net.run(["ip", "link", "delete", link], check=False)
        if keep_state:
            self.save()
            return problems
        for node in self.state.nodes:
            d = self.node_dir(node)
            if d.is_dir() and not d.is_symlink():  # a link's target is not ours to empty
                for f in sorted(d.iterdir()):
                    f.unlink()
                d.rmdir()
        for fname in ("lab.json", "lab.json.tmp", "go"):
            (self.dir / fname).unlink(missing_ok=True)
        try:
            self.dir.rmdir()
        except OSError:
            pass
        return problems


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` as a fresh 0600 file (a planted file or link is replaced)."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    with open(fd, "w") as f:
        f.write(text)


def galera_status(lab: Lab) -> list[dict[str, Any]] | None:
    """Each node's wsrep status when the lab runs Galera (adapters.lab.galera), else None."""
    from adapters.lab.galera import GaleraLab

    galera = GaleraLab.load(lab)
    return galera.status() if galera is not None else None


def gluster_status(lab: Lab) -> list[dict[str, Any]] | None:
    """Each node's glusterd and bricks when the lab runs Gluster (adapters.lab.gluster)."""
    from adapters.lab.gluster import GlusterLab

    gluster = GlusterLab.load(lab)
    return gluster.status() if gluster is not None else None


def leftovers(prefix: str) -> list[str]:
    """Anything on this machine whose name carries the prefix: namespaces, links, nft tables,
    processes. Empty after a clean ``down``."""
    found = [f"netns {ns}" for ns in net.netns_list() if ns.startswith(prefix)]
    found += [f"link {x}" for x in net.links() if x.startswith(prefix)]
    found += [f"nft table {t}" for t in net.nft_tables() if t.startswith(prefix)]
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if prefix in cmd:
            found.append(f"process {entry.name}: {cmd.strip()}")
    return found
