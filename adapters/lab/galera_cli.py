"""The Galera parts of ``hacore lab`` (``up --galera``, the wsrep lines of ``status``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from adapters.lab.galera import GaleraLab
from adapters.lab.lab import Lab


def galera_up(lab: Lab, *, witness: bool) -> GaleraLab:
    """Start Galera in a lab that is up; on failure the whole lab is taken down."""
    try:
        return GaleraLab.up(lab, witness=witness)
    except BaseException:
        lab.down()
        raise


def galera_status_lines(status: dict[str, Any]) -> Iterator[str]:
    rows = status.get("galera")
    if rows is None:
        return
    yield "galera:"
    for row in rows:
        if row["name"] == "garbd":
            pid = row["garbd_pid"] or "-"
            yield f"  {'garbd':6} pid {pid!s:>7} {'running' if row['garbd_pid'] else 'not running'}"
        else:
            pid = row["mariadbd_pid"] or "-"
            yield f"  {row['name']:6} pid {pid!s:>7} {row['wsrep']}"
