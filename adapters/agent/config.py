"""The agent's configuration file (TOML), validated into frozen attrs classes.

Load with :func:`load_config` (``hacore config check FILE`` does only that).
Every bad value raises :class:`ConfigValueError` naming the dotted key, the
value and what was expected; unknown keys are errors. Secrets are not in this
file: it names files that hold them (``peer.key_file``,
``galera.password_file``), read by :mod:`adapters.agent.secrets`, which
refuses any that another user could read or write.

Services default to disabled: the agent runs with keepalived alone, and a
service switched on in ``[services]`` without its adapter configured
(``[galera]``, ``[datastore]``, ``[k3s]``, ``[gluster]``) is refused
here, never silently faked (see ``adapters.agent.ports``).

The reference in ``docs/agent-config.md`` is generated from these classes
(``scripts/gen_agent_config_doc.py``; a test fails when it is stale).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import attrs

from adapters.agent import config_checks as check
from adapters.agent.config_services import DatastoreSection, GlusterSection, K3sSection
from adapters.agent.tomlconf import ConfigValueError, build, doc
from adapters.keepalived.config import ConfigError, KeepalivedConfig, TrackFile, VrrpInstanceSpec
from hacore import config as core_config
from hacore.roles import Mode, Policy

SECOND_US = 1_000_000


class ConfigFileError(ValueError):
    """The file cannot be read or is not TOML (the message names the file)."""


# -- sections ----------------------------------------------------------------------


@attrs.frozen
class NodeEntry:
    """One data node of the cluster."""

    name: str = doc("node name, as in the other nodes' configuration", validator=check.name)
    address: str = doc(
        "the node's IPv4 address: VRRP unicast, peer channel and status all use it",
        validator=check.ipv4,
    )
    priority: int = doc(
        "VRRP priority (higher wins)", default=100, validator=check.int_range(1, 255)
    )


@attrs.frozen
class ClusterSection:
    """Who the nodes are and how the cluster decides."""

    nodes: tuple[NodeEntry, ...] = doc("the data nodes, one [[cluster.nodes]] table each")
    virtual_ip: str = doc(
        "the VIP keepalived holds on the master, with prefix", validator=check.ipv4_interface
    )
    mode: Mode = doc(
        "availability-first (the reference system) or safety-first (majority, write lease)",
        default=Mode.AVAILABILITY_FIRST,
    )
    policy: Policy = doc("split-brain resolution policy", default=Policy.VRRP_WINNER)
    deployment: str = doc("the deployment type shown by `hacore status`", default="multi-node")
    witness: str | None = doc(
        "the Galera arbitrator (garbd) by name, if one runs: Galera's cluster size counts it"
        " and the core counts its vote (it never speaks on the peer channel)",
        default=None,
        validator=check.optional_name,
    )

    def __attrs_post_init__(self) -> None:
        if len(self.nodes) < 2:
            raise ConfigValueError("nodes", len(self.nodes), "at least two [[cluster.nodes]]")
        names = [n.name for n in self.nodes]
        if len(set(names)) != len(names):
            raise ConfigValueError("nodes", names, "unique node names")
        addresses = [n.address for n in self.nodes]
        if len(set(addresses)) != len(addresses):
            raise ConfigValueError("nodes", addresses, "unique node addresses")
        if self.witness is not None and self.witness in names:
            raise ConfigValueError("witness", self.witness, "a name that is not a data node's")

    @property
    def galera_members(self) -> int:
        """Members of the whole Galera cluster: the data nodes, and garbd if configured
        (``wsrep_cluster_size`` counts it)."""
        return len(self.nodes) + (1 if self.witness is not None else 0)


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
        "a plan step's deadline", default=30.0, validator=check.seconds(0.01, 3600)
    )
    max_attempts: int = doc(
        "tries per step, the first included", default=3, validator=check.int_range(1, 100)
    )
    retry_backoff_s: float = doc(
        "wait before a step's retry, doubled each time",
        default=1.0,
        validator=check.seconds(0, 600),
    )
    fault_hold_s: float = doc(
        "how long a failed node stays out before it may serve again",
        default=30.0,
        validator=check.seconds(0, 3600),
    )
    hold_down_s: float = doc(
        "calm time after a demotion before promoting again",
        default=5.0,
        validator=check.seconds(0, 3600),
    )
    self_fence_s: float = doc(
        "safety-first: an active without a majority fences after this",
        default=3.0,
        validator=check.seconds(0, 3600),
    )
    vip_handover_s: float = doc(
        "a split-brain winner without the VIP demotes after this",
        default=15.0,
        validator=check.seconds(0, 3600),
    )
    split_judge_s: float = doc(
        "an active that lost the VIP waits this long for the peer's facts",
        default=3.0,
        validator=check.seconds(0, 3600),
    )
    write_lease_s: float = doc(
        "safety-first write lease; keep it below peer.timeout_s",
        default=2.0,
        validator=check.seconds(0, 3600),
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

    instance: str = doc("the vrrp_instance name", default="VI_1", validator=check.name)
    vrid: int = doc("virtual_router_id", default=51, validator=check.int_range(1, 255))
    interface: str = doc(
        "the interface VRRP and the VIP use", default="eth0", validator=check.ifname
    )
    advert_int: float = doc(
        "VRRP advert interval in seconds (VRRPv3: 0.01..40.95 in steps of 0.01)", default=1.0
    )
    preempt: bool = doc("a higher priority takes the VIP back", default=True)
    notify_fifo: str = doc(
        "keepalived's notify_fifo, read by the agent (the ordered source of truth)",
        default="/run/hacore/notify.fifo",
        validator=check.abs_path,
    )
    track_file: str = doc(
        "the file the agent writes to lower its VRRP priority (a vrrp_track_file)",
        default="/run/hacore/vrrp-yield",
        validator=check.abs_path,
    )
    pid_file: str = doc(
        "keepalived's pid file, for re-probing its state (SIGJSON dump)",
        default="/run/keepalived.pid",
        validator=check.abs_path,
    )
    json_dir: str = doc(
        "where keepalived writes keepalived.json on SIGJSON",
        default="/tmp",
        validator=check.abs_path,
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
        "file holding the shared HMAC key (mode 0600, at least 32 bytes)", validator=check.abs_path
    )
    port: int = doc(
        "TCP port on every node's address", default=7400, validator=check.int_range(1, 65535)
    )
    heartbeat_s: float = doc(
        "interval between status messages", default=0.5, validator=check.seconds(0.01, 60)
    )
    timeout_s: float = doc(
        "no message for this long: the peer is lost (uncertain, not gone)",
        default=3.0,
        validator=check.seconds(0.05, 600),
    )
    max_message_bytes: int = doc(
        "larger messages are dropped and counted",
        default=4096,
        validator=check.int_range(256, 1 << 20),
    )


@attrs.frozen
class OperatorSection:
    """The local operator socket (`hacore switchover`, `resolve`, `clear-fault`, `status`)."""

    socket: str = doc(
        "Unix socket path; its directory must belong to the agent's user",
        default="/run/hacore/agent.sock",
        validator=check.abs_path,
    )


@attrs.frozen
class HttpSection:
    """Health and metrics endpoints (/active, /standby, /health, /status, /metrics)."""

    enabled: bool = doc("off by default", default=False)
    address: str = doc("listen address", default="127.0.0.1", validator=check.ipv4)
    port: int = doc("listen port", default=8008, validator=check.int_range(1, 65535))


@attrs.frozen
class StoreSection:
    """The durable event log."""

    path: str = doc(
        "the SQLite event store (created mode 0600)",
        default="/var/lib/hacore/events.sqlite",
        validator=check.abs_path,
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
    user: str = doc("database user of the adapter", default="hacore", validator=check.name)
    password_file: str | None = doc(
        "file holding the password, first line (mode 0600); unset: no password",
        default=None,
        validator=check.abs_path,
    )
    server_root: str | None = doc(
        "mariadb: the node directory holding my.cnf, data/, mysqld.sock, error.log",
        default=None,
        validator=check.abs_path,
    )
    launcher: tuple[str, ...] = doc(
        "mariadb: argv prefix that places mariadbd (empty on a plain host)", default=()
    )
    inner_root: str | None = doc(
        "mariadb: server_root as mariadbd sees it, when the launcher binds it elsewhere",
        default=None,
        validator=check.abs_path,
    )
    schemas: tuple[str, ...] = doc(
        "mariadb: the business schemas a quarantine dumps before a rejoin", default=()
    )
    quarantine_dir: str = doc(
        "mariadb: where quarantine dumps are kept",
        default="/var/lib/hacore/quarantine",
        validator=check.abs_path,
    )
    poll_s: float = doc(
        "mariadb: interval of the status poll", default=1.0, validator=check.seconds(0.1, 60)
    )
    fake_journal: str = doc(
        "recording-fake: its journal (JSON lines, one per operation)",
        default="/var/lib/hacore/galera-fake.jsonl",
        validator=check.abs_path,
    )
    fake_delay_s: float = doc(
        "recording-fake: how long each operation takes (stands in for the work)",
        default=0.0,
        validator=check.seconds(0, 60),
    )

    def __attrs_post_init__(self) -> None:
        if self.adapter == "mariadb" and self.server_root is None:
            raise ConfigValueError("server_root", None, "a directory when adapter = 'mariadb'")
        for schema in self.schemas:
            if not check.NAME.match(schema):
                raise ConfigValueError("schemas", schema, "schema names of [A-Za-z0-9_-]")


@attrs.frozen
class LogSection:
    """Structured logs: JSON lines on stderr."""

    level: str = doc("debug, info, warning or error", default="info", validator=check.level)


@attrs.frozen
class AgentConfig:
    """The whole file. ``node`` names which of ``cluster.nodes`` this host is."""

    node: str = doc("this host's node name (one of cluster.nodes)", validator=check.name)
    cluster: ClusterSection = doc("the cluster")
    peer: PeerSection = doc("the peer channel")
    services: ServicesSection = doc("managed services", factory=ServicesSection)
    timing: TimingSection = doc("timers", factory=TimingSection)
    keepalived: KeepalivedSection = doc("keepalived", factory=KeepalivedSection)
    operator: OperatorSection = doc("operator socket", factory=OperatorSection)
    http: HttpSection = doc("HTTP endpoints", factory=HttpSection)
    store: StoreSection = doc("event store", factory=StoreSection)
    galera: GaleraSection = doc("Galera credentials", factory=GaleraSection)
    datastore: DatastoreSection = doc("k3s's datastore and litestream", factory=DatastoreSection)
    k3s: K3sSection = doc("k3s", factory=K3sSection)
    gluster: GlusterSection = doc("GlusterFS", factory=GlusterSection)
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
        self._check_service_adapters()

    def _check_service_adapters(self) -> None:
        """A managed service needs an adapter: never a plan step that can only fail."""
        s, ds, k = self.services, self.datastore, self.k3s
        if s.k3s and k.adapter == "disabled":
            raise ConfigValueError("k3s.adapter", k.adapter, "an adapter when services.k3s = true")
        if (s.k3s or s.litestream) and ds.adapter == "disabled":
            why = "services.k3s (its restore) or services.litestream"
            raise ConfigValueError("datastore.adapter", ds.adapter, f"an adapter when {why} = true")
        if s.gluster and self.gluster.adapter == "disabled":
            raise ConfigValueError(
                "gluster.adapter", self.gluster.adapter, "an adapter when services.gluster = true"
            )
        if k.adapter != "disabled" and k.datastore is not None and ds.database is not None:
            if k.datastore != ds.database:
                raise ConfigValueError(
                    "k3s.datastore", k.datastore, f"the file litestream replicates ({ds.database})"
                )
        if k.adapter != "disabled" and k.datastore is None and ds.database is None:
            raise ConfigValueError("k3s.datastore", None, "a path (or set datastore.database)")

    @property
    def k3s_datastore(self) -> str | None:
        """kine's database, as k3s and litestream both see it."""
        return self.k3s.datastore or self.datastore.database

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
            witness=self.cluster.witness,
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
