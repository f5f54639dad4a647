"""The real service adapters as the agent's ports, built from its configuration.

* ``[datastore] adapter = "litestream"``: :class:`adapters.litestream.port.LitestreamDatastore`
  (``hacore.ports.DatastorePort``) over the real ``litestream`` binary;
* ``[k3s] adapter = "process"``: :class:`adapters.k3s.port.K3sAdapter`
  (``hacore.ports.K3sPort``); the tests run it on the k3s STAND-IN
  (``adapters.k3s.standin_server``, which is not k3s);
* ``[gluster] adapter = "glusterd"``: :class:`adapters.gluster.port.GlusterPortAdapter`
  (``hacore.ports.GlusterPort``) over the ``gluster`` CLI.

Each adapter gets the agent's clock, because the deadlines the dispatcher
hands them are instants on that clock. The directories the agent keeps their
state in (PID records, litestream.yml, quarantine copies) are created 0700
and refused when another user owns them or could write them.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from adapters.agent.config import AgentConfig
from adapters.agent.ownership import not_ours
from adapters.agent.ports import ClockUs, DisabledService


class ServiceSetupError(RuntimeError):
    """A service adapter cannot be set up (the message names the key and the path)."""


def private_dir(path: str, key: str) -> Path:
    """``path`` as a directory only this user can write (created 0700 if missing)."""
    p = Path(path)
    p.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = os.lstat(p)
    if not stat.S_ISDIR(st.st_mode):
        raise ServiceSetupError(f"{key} {p}: not a directory (or a symlink)")
    problem = not_ours(st)
    if problem:
        raise ServiceSetupError(f"{key} {p}: {problem}")
    return p


def _executable(path: str, key: str) -> str:
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise ServiceSetupError(f"{key} {path}: not an executable file")
    return path


def datastore_port(config: AgentConfig, clock: ClockUs) -> Any:
    """The datastore port: litestream, or disabled."""
    d = config.datastore
    if d.adapter == "disabled":
        return DisabledService("datastore")
    from adapters.litestream.port import LitestreamDatastore, remove_scratch
    from adapters.litestream.quarantine import Quarantine
    from adapters.litestream.replicator import Replicator

    ls_config = d.litestream_config()  # valid: the configuration checked it
    state = private_dir(d.state_dir, "datastore.state_dir")
    private_dir(d.quarantine_dir, "datastore.quarantine_dir")
    private_dir(str(Path(d.socket).parent), "datastore.socket's directory")
    replicator = Replicator(ls_config, state, _executable(d.binary, "datastore.binary"))
    if ls_config.database.parent.is_dir():
        remove_scratch(ls_config.database)  # restore copies a crash left behind
    return LitestreamDatastore(replicator, Quarantine(Path(d.quarantine_dir)), clock_us=clock)


def k3s_port(config: AgentConfig, clock: ClockUs) -> Any:
    """The k3s port: the k3s server process (or the stand-in), or disabled."""
    k = config.k3s
    if k.adapter == "disabled":
        return DisabledService("k3s")
    from adapters.k3s.port import K3sAdapter

    datastore = config.k3s_datastore
    assert datastore is not None  # checked by the configuration
    return K3sAdapter(
        start_command=k.start_command,
        datastore=Path(datastore),
        readyz_port=k.readyz_port,
        state_dir=private_dir(k.state_dir, "k3s.state_dir"),
        stop_command=k.stop_command,
        replica_expected=k.replica_expected,
        kill_after_s=k.kill_after_s,
        clock_us=clock,
    )


def gluster_port(config: AgentConfig, clock: ClockUs) -> Any:
    """The Gluster port: the local glusterd's volume, or disabled."""
    g = config.gluster
    if g.adapter == "disabled":
        return DisabledService("gluster")
    from adapters.gluster.cli import GlusterCli
    from adapters.gluster.port import GlusterPortAdapter

    # checked by the configuration
    assert g.volume and g.brick and g.brick_path and g.mount
    private_dir(g.quarantine_dir, "gluster.quarantine_dir")
    cli = GlusterCli(launcher=g.launcher, binary=_executable(g.binary, "gluster.binary"))
    return GlusterPortAdapter(
        cli=cli,
        volume=g.volume,
        brick=g.brick,
        brick_path=Path(g.brick_path),
        mount=g.mount,
        quarantine_root=Path(g.quarantine_dir),
        clock_us=clock,
    )
