"""The agent's configuration file (TOML), validated into frozen attrs classes.

Load with :func:`load_config` (``hacore config check FILE`` does only that).
Every bad value raises :class:`ConfigValueError` naming the dotted key, the
value and what was expected; unknown keys are errors. Secrets are not in this
file: it names files that hold them (``peer.key_file``,
``galera.password_file``), read by :mod:`adapters.agent.secrets`, which
refuses any that another user could read or write.

Services default to disabled: the agent runs with keepalived alone until a
service's adapter exists, and a service switched on here without one is
refused at start, never silently faked (see ``adapters.agent.ports``).

The reference in ``docs/agent-config.md`` is generated from these classes
(``scripts/gen_agent_config_doc.py``; a test fails when it is stale).
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from pathlib import Path
from typing import Any

import attrs

from adapters.agent.tomlconf import ConfigValueError, build, doc
from adapters.keepalived.config import ConfigError, KeepalivedConfig, TrackFile, VrrpInstanceSpec
from hacore import config as core_config
from hacore.roles import Mode, Policy

SECOND_US = 1_000_000
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
_IFNAME = re.compile(r"^[A-Za-z0-9_.\-]{1,15}$")
_PATH_BAD = re.compile(r"[\s\"'\\{}#!]")


class ConfigFileError(ValueError):
    """The file cannot be read or is not TOML (the message names the file)."""


# -- validators: each raises ConfigValueError(field, value, expectation) ----------


def _name(_: object, a: attrs.Attribute[str], v: str) -> None:
    if not _NAME.match(v):
        raise ConfigValueError(a.name, v, "a name of letters, digits, '-' or '_' (1..63)")


def _ipv4(_: object, a: attrs.Attribute[str], v: str) -> None:
    try:
        ipaddress.IPv4Address(v)
    except ValueError:
        raise ConfigValueError(a.name, v, "an IPv4 address (a.b.c.d)") from None


def _ipv4_interface(_: object, a: attrs.Attribute[str], v: str) -> None:
    try:
        ipaddress.IPv4Interface(v)
    except ValueError:
        raise ConfigValueError(a.name, v, "an IPv4 address with prefix (a.b.c.d/len)") from None
    if "/" not in v:
        raise ConfigValueError(a.name, v, "an IPv4 address with prefix (a.b.c.d/len)")


def _abs_path(_: object, a: attrs.Attribute[Any], v: str | None) -> None:
    if v is None:
        return
    if not v.startswith("/") or _PATH_BAD.search(v):
        raise ConfigValueError(a.name, v, "an absolute path without spaces or quotes")


def _ifname(_: object, a: attrs.Attribute[str], v: str) -> None:
    if not _IFNAME.match(v):
        raise ConfigValueError(a.name, v, "an interface name (1..15 of [A-Za-z0-9_.-])")


def _int_range(lo: int, hi: int) -> Any:
    def check(_: object, a: attrs.Attribute[int], v: int) -> None:
        if not lo <= v <= hi:
            raise ConfigValueError(a.name, v, f"an integer in {lo}..{hi}")

    return check


def _seconds(lo: float, hi: float) -> Any:
    def check(_: object, a: attrs.Attribute[float], v: float) -> None:
        if not lo <= v <= hi:
            raise ConfigValueError(a.name, v, f"a number of seconds in {lo:g}..{hi:g}")

    return check


def _level(_: object, a: attrs.Attribute[str], v: str) -> None:
    if v not in ("debug", "info", "warning", "error"):
        raise ConfigValueError(a.name, v, "one of 'debug', 'info', 'warning', 'error'")


# -- sections ----------------------------------------------------------------------


@attrs.frozen
class NodeEntry:
    """One data node of the cluster."""

    name: str = doc("node name, as in the other nodes' configuration", validator=_name)
    address: str = doc(
        "the node's IPv4 address: VRRP unicast, peer channel and status all use it",
        validator=_ipv4,
    )
    priority: int = doc("VRRP priority (higher wins)", default=100, validator=_int_range(1, 255))


@attrs.frozen
class ClusterSection:
    """Who the nodes are and how the cluster decides."""

    nodes: tuple[NodeEntry, ...] = doc("the data nodes, one [[cluster.nodes]] table each")
    virtual_ip: str = doc(
        "the VIP keepalived holds on the master, with prefix", validator=_ipv4_interface
    )
    mode: Mode = doc(
        "availability-first (the reference system) or safety-first (majority, write lease)",
        default=Mode.AVAILABILITY_FIRST,
    )
    policy: Policy = doc("split-brain resolution policy", default=Policy.VRRP_WINNER)
    deployment: str = doc("the deployment type shown by `hacore status`", default="multi-node")

    def __attrs_post_init__(self) -> None:
        if len(self.nodes) < 2:
            raise ConfigValueError("nodes", len(self.nodes), "at least two [[cluster.nodes]]")
        names = [n.name for n in self.nodes]
        if len(set(names)) != len(names):
            raise ConfigValueError("nodes", names, "unique node names")
        addresses = [n.address for n in self.nodes]
        if len(set(addresses)) != len(addresses):
            raise ConfigValueError("nodes", addresses, "unique node addresses")


@attrs.frozen
class ServicesSection:
    """Which services the plans manage. Off until their adapters are configured."""

    k3s: bool = doc("k3s (start/stop, restore its database)", default=False)
    galera: bool = doc("MariaDB Galera (primary, rejoin, write fencing)", default=False)
    gluster: bool = doc("GlusterFS (heal, resync)", default=False)
    litestream: bool = doc("litestream replication of the k3s database", default=False)


@attrs.frozen
class TimingSection:
    """The decider's timers, in seconds (the core receives integer microseconds)."""

    step_timeout_s: float = doc(
        "a plan step's deadline", default=30.0, validator=_seconds(0.01, 3600)
    )
    max_attempts: int = doc(
        "tries per step, the first included", default=3, validator=_int_range(1, 100)
    )
    retry_backoff_s: float = doc(
        "wait before a step's retry, doubled each time", default=1.0, validator=_seconds(0, 600)
    )
    fault_hold_s: float = doc(
        "how long a failed node stays out before it may serve again",
        default=30.0,
        validator=_seconds(0, 3600),
    )
    hold_down_s: float = doc(
        "calm time after a demotion before promoting again",
        default=5.0,
        validator=_seconds(0, 3600),
    )
    self_fence_s: float = doc(
        "safety-first: an active without a majority fences after this",
        default=3.0,
        validator=_seconds(0, 3600),
    )
    vip_handover_s: float = doc(
        "a split-brain winner without the VIP demotes after this",
        default=15.0,
        validator=_seconds(0, 3600),
    )
    split_judge_s: float = doc(
        "an active that lost the VIP waits this long for the peer's facts",
        default=3.0,
        validator=_seconds(0, 3600),
    )
    write_lease_s: float = doc(
        "safety-first write lease; keep it below peer.timeout_s",
        default=2.0,
        validator=_seconds(0, 3600),
    )

    def to_core(self) -> core_config.Timing:
        def us(s: float) -> int:
            return round(s * SECOND_US)

        return core_config.Timing(
            step_timeout_us=us(self.step_timeout_s),
            max_attempts=self.max_attempts,
            retry_backoff_us=us(self.retry_backoff_s),
            fault_hold_us=us(self.fault_hold_s),
            hold_down_us=us(self.hold_down_s),
            self_fence_us=us(self.self_fence_s),
            vip_handover_us=us(self.vip_handover_s),
            split_judge_us=us(self.split_judge_s),
            write_lease_us=us(self.write_lease_s),
        )


@attrs.frozen
class KeepalivedSection:
    """The local keepalived: what the agent renders for it and how it listens to it."""

    instance: str = doc("the vrrp_instance name", default="VI_1", validator=_name)
    vrid: int = doc("virtual_router_id", default=51, validator=_int_range(1, 255))
    interface: str = doc("the interface VRRP and the VIP use", default="eth0", validator=_ifname)
    advert_int: float = doc(
        "VRRP advert interval in seconds (VRRPv3: 0.01..40.95 in steps of 0.01)", default=1.0
    )
    preempt: bool = doc("a higher priority takes the VIP back", default=True)
    notify_fifo: str = doc(
        "keepalived's notify_fifo, read by the agent (the ordered source of truth)",
        default="/run/hacore/notify.fifo",
        validator=_abs_path,
    )
    track_file: str = doc(
        "the file the agent writes to lower its VRRP priority (a vrrp_track_file)",
        default="/run/hacore/vrrp-yield",
        validator=_abs_path,
    )
    pid_file: str = doc(
        "keepalived's pid file, for re-probing its state (SIGJSON dump)",
        default="/run/keepalived.pid",
        validator=_abs_path,
    )
    json_dir: str = doc(
        "where keepalived writes keepalived.json on SIGJSON", default="/tmp", validator=_abs_path
    )

    def __attrs_post_init__(self) -> None:
        from adapters.keepalived.config import parse_advert_int

        try:
            parse_advert_int(self.advert_int)
        except ConfigError as exc:
            raise ConfigValueError(
                "advert_int", self.advert_int, str(exc).split(": ", 1)[1]
            ) from None


@attrs.frozen
class PeerSection:
    """The authenticated peer channel (TCP between node addresses)."""

    key_file: str = doc(
        "file holding the shared HMAC key (mode 0600, at least 32 bytes)", validator=_abs_path
    )
    port: int = doc(
        "TCP port on every node's address", default=7400, validator=_int_range(1, 65535)
    )
    heartbeat_s: float = doc(
        "interval between status messages", default=0.5, validator=_seconds(0.01, 60)
    )
    timeout_s: float = doc(
        "no message for this long: the peer is lost (uncertain, not gone)",
        default=3.0,
        validator=_seconds(0.05, 600),
    )
    max_message_bytes: int = doc(
        "larger messages are dropped and counted", default=4096, validator=_int_range(256, 1 << 20)
    )


@attrs.frozen
class OperatorSection:
    """The local operator socket (`hacore switchover`, `resolve`, `clear-fault`, `status`)."""

    socket: str = doc(
        "Unix socket path; its directory must belong to the agent's user",
        default="/run/hacore/agent.sock",
        validator=_abs_path,
    )


@attrs.frozen
class HttpSection:
    """Health and metrics endpoints (/active, /standby, /health, /status, /metrics)."""

    enabled: bool = doc("off by default", default=False)
    address: str = doc("listen address", default="127.0.0.1", validator=_ipv4)
    port: int = doc("listen port", default=8008, validator=_int_range(1, 65535))


@attrs.frozen
class StoreSection:
    """The durable event log."""

    path: str = doc(
        "the SQLite event store (created mode 0600)",
        default="/var/lib/hacore/events.sqlite",
        validator=_abs_path,
    )


GALERA_ADAPTERS = ("recording-fake", "mariadb")


def _galera_adapter(_: object, a: attrs.Attribute[str], v: str) -> None:
    if v not in GALERA_ADAPTERS:
        raise ConfigValueError(a.name, v, "one of " + ", ".join(repr(x) for x in GALERA_ADAPTERS))


@attrs.frozen
class GaleraSection:
    """The Galera port: its adapter, and the local MariaDB.

    ``adapter = "mariadb"`` is the real adapter (``adapters.galera``): the agent
    starts mariadbd itself in the promotion's Galera step (not init), polls
    ``SHOW STATUS`` for ``hacore status`` and the core's committed seqno, fences
    writes with ``read_only``. ``adapter = "recording-fake"`` answers the port
    with a fake that touches no database and records every operation (fencing
    included) in ``fake_journal``; status then reports Galera as not observed.
    """

    adapter: str = doc(
        "which implementation answers the Galera port",
        default="recording-fake",
        validator=_galera_adapter,
    )
    user: str = doc("database user of the adapter", default="hacore", validator=_name)
    password_file: str | None = doc(
        "file holding the password, first line (mode 0600); unset: no password",
        default=None,
        validator=_abs_path,
    )
    server_root: str | None = doc(
        "mariadb: the node directory holding my.cnf, data/, mysqld.sock, error.log",
        default=None,
        validator=_abs_path,
    )
    launcher: tuple[str, ...] = doc(
        "mariadb: argv prefix that places mariadbd (empty on a plain host)", default=()
    )
    inner_root: str | None = doc(
        "mariadb: server_root as mariadbd sees it, when the launcher binds it elsewhere",
        default=None,
        validator=_abs_path,
    )
    schemas: tuple[str, ...] = doc(
        "mariadb: the business schemas a quarantine dumps before a rejoin", default=()
    )
    quarantine_dir: str = doc(
        "mariadb: where quarantine dumps are kept",
        default="/var/lib/hacore/quarantine",
        validator=_abs_path,
    )
    poll_s: float = doc(
        "mariadb: interval of the status poll", default=1.0, validator=_seconds(0.1, 60)
    )
    fake_journal: str = doc(
        "recording-fake: its journal (JSON lines, one per operation)",
        default="/var/lib/hacore/galera-fake.jsonl",
        validator=_abs_path,
    )
    fake_delay_s: float = doc(
        "recording-fake: how long each operation takes (stands in for the work)",
        default=0.0,
        validator=_seconds(0, 60),
    )

    def __attrs_post_init__(self) -> None:
        if self.adapter == "mariadb" and self.server_root is None:
            raise ConfigValueError("server_root", None, "a directory when adapter = 'mariadb'")
        for schema in self.schemas:
            if not _NAME.match(schema):
                raise ConfigValueError("schemas", schema, "schema names of [A-Za-z0-9_-]")


@attrs.frozen
class LogSection:
    """Structured logs: JSON lines on stderr."""

    level: str = doc("debug, info, warning or error", default="info", validator=_level)


@attrs.frozen
class AgentConfig:
    """The whole file. ``node`` names which of ``cluster.nodes`` this host is."""

    node: str = doc("this host's node name (one of cluster.nodes)", validator=_name)
    cluster: ClusterSection = doc("the cluster")
    peer: PeerSection = doc("the peer channel")
    services: ServicesSection = doc("managed services", factory=ServicesSection)
    timing: TimingSection = doc("timers", factory=TimingSection)
    keepalived: KeepalivedSection = doc("keepalived", factory=KeepalivedSection)
    operator: OperatorSection = doc("operator socket", factory=OperatorSection)
    http: HttpSection = doc("HTTP endpoints", factory=HttpSection)
    store: StoreSection = doc("event store", factory=StoreSection)
    galera: GaleraSection = doc("Galera credentials", factory=GaleraSection)
    log: LogSection = doc("logging", factory=LogSection)

    def __attrs_post_init__(self) -> None:
        if self.node not in [n.name for n in self.cluster.nodes]:
            names = ", ".join(n.name for n in self.cluster.nodes)
            raise ConfigValueError("node", self.node, f"one of the cluster's nodes ({names})")
        if self.timing.write_lease_s >= self.peer.timeout_s:
            raise ConfigValueError(
                "timing.write_lease_s",
                self.timing.write_lease_s,
                f"less than peer.timeout_s ({self.peer.timeout_s:g}), see hacore.lease",
            )

    @property
    def me(self) -> NodeEntry:
        return next(n for n in self.cluster.nodes if n.name == self.node)

    @property
    def others(self) -> tuple[NodeEntry, ...]:
        return tuple(n for n in self.cluster.nodes if n.name != self.node)

    def cluster_config(self) -> core_config.ClusterConfig:
        """The core's view: nodes, mode, policy, services, timing."""
        s = self.services
        return core_config.ClusterConfig(
            nodes=tuple(
                core_config.NodeSpec(n.name, n.address, n.priority) for n in self.cluster.nodes
            ),
            mode=self.cluster.mode,
            policy=self.cluster.policy,
            services=core_config.Services(
                k3s=s.k3s, galera=s.galera, gluster=s.gluster, litestream=s.litestream
            ),
            timing=self.timing.to_core(),
        )

    def keepalived_config(self) -> KeepalivedConfig:
        """The keepalived.conf this node's agent expects keepalived to run."""
        k = self.keepalived
        me = self.me
        inst = VrrpInstanceSpec(
            name=k.instance,
            vrid=k.vrid,
            interface=k.interface,
            priority=me.priority,
            unicast_src_ip=me.address,
            unicast_peers=tuple(n.address for n in self.others),
            virtual_ipaddresses=(self.cluster.virtual_ip,),
            advert_int=str(k.advert_int),
            preempt=k.preempt,
            # SetPriorityYield writes a negative bias here (see adapters.agent.ports)
            track_files=(TrackFile("hacore_yield", k.track_file, weight=1),),
        )
        return KeepalivedConfig(
            router_id=f"hacore-{self.node}", instances=(inst,), notify_fifo=k.notify_fifo
        )


def parse_config(text: str, source: str = "<config>") -> AgentConfig:
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigFileError(f"{source}: not valid TOML: {exc}") from None
    return build(AgentConfig, table)


def load_config(path: str | Path) -> AgentConfig:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigFileError(f"{p}: cannot read: {exc}") from None
    return parse_config(text, str(p))


__all__ = [
    "AgentConfig",
    "ConfigFileError",
    "ConfigValueError",
    "load_config",
    "parse_config",
]
