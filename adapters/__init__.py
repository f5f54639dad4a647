"""Adapters: the real world (keepalived, Galera, Gluster, litestream, the SQLite store, the CLI)."""
