"""The service adapters' sections of the agent configuration: ``[datastore]``
(litestream replicating k3s's kine database), ``[k3s]`` and ``[gluster]``.

Each is optional: ``adapter = "disabled"`` (the default) answers its port
with :class:`adapters.agent.ports.DisabledService`. A section whose adapter
is on must name everything the adapter needs; every error names the key
(``datastore.replica_dir: expected ...``). The cross-checks against
``[services]`` (a managed service needs its adapter) are in
:class:`adapters.agent.config.AgentConfig`.
"""

from __future__ import annotations

from pathlib import Path

import attrs

from adapters.agent import config_checks as check
from adapters.agent.tomlconf import ConfigValueError, doc
from adapters.litestream.config import LitestreamConfig
from adapters.litestream.errors import LitestreamConfigError

DATASTORE_ADAPTERS = ("disabled", "litestream")
K3S_ADAPTERS = ("disabled", "process")
GLUSTER_ADAPTERS = ("disabled", "glusterd")


def _required(section: str, adapter: str, **fields: object) -> None:
    for key, value in fields.items():
        if value is None:
            raise ConfigValueError(key, None, f"a value when {section}.adapter = {adapter!r}")


@attrs.frozen
class DatastoreSection:
    """k3s's datastore and its litestream replica (``adapters.litestream``).

    ``adapter = "litestream"`` runs the real ``litestream replicate`` on
    ``database`` into this node's file replica (``replica_dir``, e.g. on a
    mount the peer can read), restores from the peer's (``restore_dir``) in a
    promotion, and copies aside local rows the replica lacks before a restore
    or a demotion. One writer per replica: a replica both nodes write is
    refused.
    """

    adapter: str = doc(
        "which implementation answers the datastore port",
        default="disabled",
        validator=check.one_of(*DATASTORE_ADAPTERS),
    )
    database: str | None = doc(
        "litestream: k3s's kine database (state.db)", default=None, validator=check.abs_path
    )
    replica_dir: str | None = doc(
        "litestream: the file replica's directory (not the database's own)",
        default=None,
        validator=check.abs_path,
    )
    restore_dir: str | None = doc(
        "litestream: the replica a promotion restores from: the peer's replica_dir"
        " (required, and not replica_dir: two actives of a partition writing one"
        " replica lose the loser's writes, docs/findings.md row 17)",
        default=None,
        validator=check.abs_path,
    )
    socket: str = doc(
        "litestream: its control socket (`sync -wait` uses it)",
        default="/run/hacore/litestream.sock",
        validator=check.abs_path,
    )
    state_dir: str = doc(
        "litestream: the agent's directory for litestream.yml, the PID record, the log",
        default="/var/lib/hacore/litestream",
        validator=check.abs_path,
    )
    quarantine_dir: str = doc(
        "litestream: where rows the replica lacks are copied aside",
        default="/var/lib/hacore/k3s-quarantine",
        validator=check.abs_path,
    )
    binary: str = doc(
        "litestream: the litestream executable",
        default="/usr/local/bin/litestream",
        validator=check.abs_path,
    )
    monitor_interval_ms: int = doc(
        "litestream: how often it looks at the WAL (bounds the loss when replicate dies)",
        default=1000,
        validator=check.int_range(10, 60_000),
    )
    sync_interval_ms: int = doc(
        "litestream: how often the replica is written",
        default=1000,
        validator=check.int_range(10, 60_000),
    )

    def __attrs_post_init__(self) -> None:
        if self.adapter == "disabled":
            return
        _required(
            "datastore",
            self.adapter,
            database=self.database,
            replica_dir=self.replica_dir,
            restore_dir=self.restore_dir,
        )
        assert self.database is not None and self.replica_dir is not None
        if self.restore_dir == self.replica_dir:
            raise ConfigValueError(
                "restore_dir", self.restore_dir, "the peer's replica, not this node's replica_dir"
            )
        database = Path(self.database)
        if Path(self.replica_dir) in (database, database.parent):
            raise ConfigValueError(
                "replica_dir", self.replica_dir, "a directory other than the database's"
            )
        self.litestream_config()  # what litestream itself would refuse, named by key

    def litestream_config(self) -> LitestreamConfig:
        assert self.database is not None and self.replica_dir is not None
        try:
            return LitestreamConfig(
                database=Path(self.database),
                replica_dir=Path(self.replica_dir),
                restore_dir=None if self.restore_dir is None else Path(self.restore_dir),
                socket=Path(self.socket),
                monitor_interval_ms=self.monitor_interval_ms,
                sync_interval_ms=self.sync_interval_ms,
            )
        except LitestreamConfigError as exc:
            key, _, why = str(exc).partition(": ")
            raise ConfigValueError(key, getattr(self, key, None), why) from None


@attrs.frozen
class K3sSection:
    """k3s, driven by PID through its documented interface (``adapters.k3s``).

    ``adapter = "process"``: ``start_command`` runs the server in the
    foreground (for k3s: ``/usr/local/bin/k3s server --datastore-endpoint=
    sqlite://...``; the tests run the k3s STAND-IN,
    ``python -m adapters.k3s.standin_server``, which is not k3s); readiness is
    HTTP 200 on ``127.0.0.1:readyz_port/readyz``; stop is ``stop_command`` or
    SIGTERM by PID, SIGKILL ``kill_after_s`` later.
    """

    adapter: str = doc(
        "which implementation answers the k3s port",
        default="disabled",
        validator=check.one_of(*K3S_ADAPTERS),
    )
    start_command: tuple[str, ...] = doc(
        "process: argv of the server in the foreground (program as an absolute path)",
        default=(),
        validator=check.argv,
    )
    stop_command: tuple[str, ...] = doc(
        "process: argv of a stop script; empty: SIGTERM by PID", default=(), validator=check.argv
    )
    readyz_port: int = doc(
        "process: the port of /readyz on 127.0.0.1 (0: unset)",
        default=0,
        validator=check.int_range(0, 65535),
    )
    datastore: str | None = doc(
        "process: kine's database k3s opens; unset: datastore.database",
        default=None,
        validator=check.abs_path,
    )
    state_dir: str = doc(
        "process: the agent's directory for the PID record and k3s.log",
        default="/var/lib/hacore/k3s",
        validator=check.abs_path,
    )
    replica_expected: bool = doc(
        "process: refuse to start k3s on a missing or empty datastore (restore first)",
        default=True,
    )
    kill_after_s: float = doc(
        "process: SIGKILL a server still running this long after its SIGTERM",
        default=10.0,
        validator=check.seconds(0, 600),
    )
    poll_s: float = doc(
        "interval of the service poll (k3s /readyz, litestream, Gluster) for `hacore status`",
        default=2.0,
        validator=check.seconds(0.1, 60),
    )

    def __attrs_post_init__(self) -> None:
        if self.adapter == "disabled":
            return
        if not self.start_command:
            raise ConfigValueError(
                "start_command", [], f"a command when k3s.adapter = {self.adapter!r}"
            )
        if self.readyz_port == 0:
            raise ConfigValueError(
                "readyz_port", 0, f"a TCP port when k3s.adapter = {self.adapter!r}"
            )


@attrs.frozen
class GlusterSection:
    """The replicated Gluster volume this node serves (``adapters.gluster``).

    ``adapter = "glusterd"`` drives the local glusterd through the ``gluster``
    CLI: a promotion heals towards this node's brick (the other copies of
    split-brain files quarantined first), a demotion quarantines this brick's
    copies and resyncs from the peer's.
    """

    adapter: str = doc(
        "which implementation answers the Gluster port",
        default="disabled",
        validator=check.one_of(*GLUSTER_ADAPTERS),
    )
    volume: str | None = doc(
        "glusterd: the replicated volume's name", default=None, validator=check.optional_name
    )
    brick: str | None = doc(
        "glusterd: this node's brick as `gluster volume info` lists it (HOST:/PATH)",
        default=None,
    )
    brick_path: str | None = doc(
        "glusterd: the brick's backend directory as the agent reads it",
        default=None,
        validator=check.abs_path,
    )
    mount: str | None = doc(
        "glusterd: where the volume is mounted on this node", default=None, validator=check.abs_path
    )
    quarantine_dir: str = doc(
        "glusterd: where losing copies are kept",
        default="/var/lib/hacore/gluster-quarantine",
        validator=check.abs_path,
    )
    binary: str = doc(
        "glusterd: the gluster CLI", default="/usr/sbin/gluster", validator=check.abs_path
    )
    launcher: tuple[str, ...] = doc(
        "glusterd: argv prefix that places the CLI next to glusterd (empty on a plain host)",
        default=(),
        validator=check.argv,
    )

    def __attrs_post_init__(self) -> None:
        if self.adapter == "disabled":
            return
        _required(
            "gluster",
            self.adapter,
            volume=self.volume,
            brick=self.brick,
            brick_path=self.brick_path,
            mount=self.mount,
        )
        host, sep, path = (self.brick or "").partition(":")
        if (
            not sep
            or not host
            or not path.startswith("/")
            or any(c.isspace() for c in self.brick or "")
        ):
            raise ConfigValueError("brick", self.brick, "HOST:/PATH as the volume lists it")
