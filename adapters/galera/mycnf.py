"""The per-node MariaDB option file (``--defaults-file``, which must come first)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

PROVIDER = "/usr/lib/galera/libgalera_smm.so"


@dataclass(frozen=True, slots=True)
class NodeConfig:
    name: str  # wsrep_node_name
    address: str  # this node's address on the cluster network
    members: tuple[str, ...]  # every member's address (the gcomm:// list), garbd included
    cluster_name: str
    root: str  # the node directory as mariadbd sees it
    # 1 (or 2) keeps committed rows through a kill -9 of every node; 0 loses them.
    flush_log_at_trx_commit: int = 1
    provider_options: tuple[str, ...] = ("gcache.size=16M",)


def render(cfg: NodeConfig, *, extra: Sequence[str] = ()) -> str:
    r = cfg.root.rstrip("/")
    options = ";".join(cfg.provider_options)
    lines = [
        "[mariadbd]",
        # rsync SST fails when mariadbd runs as root
        "user=mysql",
        f"datadir={r}/data",
        f"socket={r}/mysqld.sock",
        f"pid-file={r}/mysqld.pid",
        f"log-error={r}/error.log",
        "port=3306",
        f"bind-address={cfg.address}",
        "skip-name-resolve",
        "innodb_buffer_pool_size=16M",
        f"innodb_flush_log_at_trx_commit={cfg.flush_log_at_trx_commit}",
        "binlog_format=ROW",
        "default_storage_engine=InnoDB",
        "innodb_autoinc_lock_mode=2",
        "wsrep_on=ON",
        f"wsrep_provider={PROVIDER}",
        f"wsrep_cluster_name={cfg.cluster_name}",
        f"wsrep_cluster_address=gcomm://{','.join(cfg.members)}",
        f"wsrep_node_name={cfg.name}",
        f"wsrep_node_address={cfg.address}",
        "wsrep_sst_method=rsync",
        f'wsrep_provider_options="{options}"',
        *extra,
        "",
    ]
    return "\n".join(lines)
