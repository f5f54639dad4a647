"""Gluster operations the plans need, on top of the strict parsers."""

from __future__ import annotations

import time

from adapters.gluster.cli import GlusterCli, GlusterTimeout
from adapters.gluster.errors import GlusterError
from adapters.gluster.heal_info import parse_heal_info
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


def pending_heals(cli: GlusterCli, volume: str, *, timeout_s: float) -> int:
    """Entries waiting for heal over every brick; an unreachable brick's
    unknown count is an error (its pending entries cannot be counted)."""
    bricks = parse_heal_info(cli.xml(["volume", "heal", volume, "info"], timeout_s=timeout_s))
    unknown = [b.name for b in bricks if b.count is None]
    if unknown:
        raise GlusterError(f"heal info: bricks not reachable: {', '.join(unknown)}")
    return sum(b.count or 0 for b in bricks)


def heal(cli: GlusterCli, volume: str, *, until: float) -> None:
    """``volume heal VOL`` until no entry is pending, by ``until``.

    Measured on 10.3: this command answers in plain text even with --xml
    (its exit code and "has been successful" are what we have), and right
    after ``start force`` it fails ("brick op 'Heal' failed") until the
    self-heal daemon reconnects, so it is retried; the self-heal daemon may
    also finish first."""
    last = "no heal launched"
    while True:
        if pending_heals(cli, volume, timeout_s=until - time.monotonic()) == 0:
            return
        if time.monotonic() >= until:
            raise GlusterTimeout(f"entries still pending heal at the deadline ({last})")
        rc, out, err = cli.plain(["volume", "heal", volume], timeout_s=until - time.monotonic())
        if rc != 0 or "has been successful" not in out:
            last = f"volume heal {volume}: exit {rc}: {(out.strip() or err.strip())[:300]}"
        time.sleep(min(0.5, max(0.0, until - time.monotonic())))
