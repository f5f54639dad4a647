"""Gluster operations the plans need, on top of the strict parsers."""

from __future__ import annotations

import time

from adapters.gluster.cli import GlusterCli, GlusterTimeout
from adapters.gluster.errors import GlusterError
from adapters.gluster.volume_status import VolumeStatus, parse_volume_status


def volume_status(cli: GlusterCli, volume: str, *, timeout_s: float) -> VolumeStatus:
    (status,) = parse_volume_status(cli.xml(["volume", "status", volume], timeout_s=timeout_s))
    if status.name != volume:
        raise GlusterError(f"volume status answered for {status.name!r}, not {volume!r}")
    return status


def start_dead_bricks(cli: GlusterCli, volume: str, *, until: float) -> VolumeStatus:
    """``volume start VOL force`` until every brick is online, by ``until``
    (time.monotonic()). A SIGKILLed brick stays a zombie for ~2 s and ``start
    force`` does nothing until it is gone, hence the retries."""
    while True:
        status = volume_status(cli, volume, timeout_s=until - time.monotonic())
        if not status.dead_bricks():
            return status
        left = until - time.monotonic()
        if left <= 0:
            dead = ", ".join(f"{b.hostname}:{b.path}" for b in status.dead_bricks())
            raise GlusterTimeout(f"bricks still dead at the deadline: {dead}")
        cli.run(["volume", "start", volume, "force"], timeout_s=left)
        time.sleep(min(0.5, max(0.0, until - time.monotonic())))
