"""The Gluster adapter as the runtime's :class:`hacore.ports.GlusterPort`.

One node's view of one replicated volume: the CLI next to its glusterd
(``cli``, with the lab's launcher), this node's brick (``brick`` as Gluster
names it, ``brick_path`` where its backend directory is readable here), the
volume mounted on this node (``mount``, as the launcher's commands see it) and
a quarantine directory. Every call turns the runtime's ``deadline`` (µs on the
agent's monotonic clock) into the budget of each CLI call; a deadline already
passed is Uncertain without touching anything.

* ``probe``: volume status and heal counts (Done with them in ``detail``).
* ``heal`` (the new active, "towards this node's copy"): dead bricks are
  started (``volume start VOL force``); every split-brain file whose other
  copies can be read through the mount (a data split-brain) gets them
  quarantined, then is resolved with this node's brick as the source; an
  index heal runs until nothing is pending. A gfid split-brain (same new
  name on both sides) cannot be read from here: heal is Failed for it and
  leaves it to the losing node's resync, which holds that copy locally.
  Peer bricks unreachable (a partition): Done, this brick is the only copy
  served; the entries heal when they return.
* ``quarantine_losing_copy`` (the demoting loser): this brick's copy of every
  entry pending or in split-brain on it (what it wrote while apart), read on
  its backend directory, kept once by content.
* ``resync`` (the loser): quarantines first (idempotent), then resolves every
  split-brain file with a reachable peer's brick as source and heals until
  clean; Failed while no peer brick is reachable.

Timeouts are Uncertain (the CLI was killed; it may have acted), an answer
saying the operation failed is Failed, an answer we cannot parse is Uncertain.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from adapters.gluster.cli import GlusterCli, GlusterTimeout
from adapters.gluster.copies import (
    NotAFile,
    NotSplit,
    Unreadable,
    local_path,
    read_local_brick,
    read_through_mount,
)
from adapters.gluster.errors import GlusterError, GlusterOpError, GlusterXmlError
from adapters.gluster.ops import start_dead_bricks, volume_status
from adapters.gluster.quarantine import Quarantine
from adapters.gluster.split_brain import Entries, UnreachableBrick, entries, index_heal, resolve
from adapters.gluster.volume_info import VolumeInfo, parse_volume_info
from hacore.ports import Done, Failed, Outcome, Uncertain

CALL_CAP_S = 30.0  # one CLI call's budget at most, within the deadline
POLL_S = 0.5
RESERVE_S = 5.0  # left for resolving and healing once the copies are read


def monotonic_us() -> int:
    return time.monotonic_ns() // 1000


class _Deadline:
    def __init__(self, until: float) -> None:
        self.until = until

    def left(self) -> float:
        left = self.until - time.monotonic()
        if left <= 0:
            raise GlusterTimeout("the operation's deadline passed")
        return min(left, CALL_CAP_S)

    def sleep(self) -> None:
        time.sleep(max(0.0, min(POLL_S, self.until - time.monotonic())))


@dataclass
class GlusterPortAdapter:
    cli: GlusterCli
    volume: str
    brick: str  # this node's brick, host:path as the volume lists it
    brick_path: Path  # its backend directory, as this process reads it
    mount: str  # the volume mounted on this node, as the launcher's commands see it
    quarantine_root: Path
    clock_us: Callable[[], int] = monotonic_us

    def _run(self, what: str, deadline: int, op: Callable[[_Deadline], Outcome]) -> Outcome:
        left_s = (deadline - self.clock_us()) / 1e6
        if left_s <= 0:
            return Uncertain(f"gluster {what}: the deadline had passed; nothing done")
        try:
            return op(_Deadline(time.monotonic() + left_s))
        except GlusterTimeout as exc:
            return Uncertain(f"gluster {what}: {exc}")
        except GlusterXmlError as exc:
            return Uncertain(f"gluster {what}: unreadable answer: {exc}")
        except GlusterOpError as exc:
            return Failed(f"gluster {what}: {exc}")
        except (GlusterError, OSError) as exc:
            return Failed(f"gluster {what}: {exc}")

    # ------------------------------------------------------------ queries --

    def _info(self, d: _Deadline) -> VolumeInfo:
        info = parse_volume_info(self.cli.xml(["volume", "info", self.volume], timeout_s=d.left()))
        if info.name != self.volume or self.brick not in info.bricks:
            raise GlusterError(f"volume {info.name} has no brick {self.brick}")
        return info

    def _entries(self, d: _Deadline, *, need_all: bool = True) -> Entries:
        return entries(self.cli, self.volume, timeout_s=d.left(), need_all=need_all)

    # -------------------------------------------------------------- probe --

    def probe(self, *, key: str, deadline: int) -> Outcome:
        def op(d: _Deadline) -> Outcome:
            status = volume_status(self.cli, self.volume, timeout_s=d.left())
            found = self._entries(d, need_all=False)
            online = len(status.bricks) - len(status.dead_bricks())
            pending = sum(len(f) for f in found.pending.values())
            split = len(found.split_files())
            return Done(
                detail=f"bricks online {online}/{len(status.bricks)}; entries pending {pending};"
                f" split-brain files {split}"
            )

        return self._run("probe", deadline, op)

    # ----------------------------------------------------------------- heal --

    def heal(self, *, key: str, deadline: int) -> Outcome:
        return self._run("heal", deadline, lambda d: self._heal(d, key))

    def _heal(self, d: _Deadline, key: str) -> Outcome:
        info = self._info(d)
        start_dead_bricks(self.cli, self.volume, until=d.until)
        try:
            found = self._entries(d)
        except UnreachableBrick as exc:
            return Done(detail=f"{exc}: this brick serves alone; the entries heal on return")
        unreadable: list[str] = []
        resolved = 0
        quarantine = Quarantine(self.quarantine_root)
        listed = found.split_files()
        for entry in found.to_resolve():
            if self._local_dir(entry):
                continue  # an entry split-brain clears once its files are resolved
            try:
                for brick in info.bricks:
                    if brick == self.brick:
                        continue
                    copy = self._read_copy(d, entry, info.client_of(brick), entry in listed)
                    quarantine.keep(entry, brick, copy, key)
            except NotSplit:
                continue  # pending on both bricks, but no split-brain: it heals
            except Unreadable as exc:
                unreadable.append(f"{entry} ({exc})")
                continue
            resolved += self._resolve(d, self.brick, entry)
        if unreadable:
            return Failed(
                "split-brain entries whose other copy cannot be read from this node (a gfid"
                " split-brain: only the losing node's resync can quarantine and resolve it): "
                + "; ".join(unreadable)
            )
        self._heal_until_clean(d)
        return Done(detail=f"healed towards {self.brick}; {resolved} split-brain files resolved")

    def _local_dir(self, entry: str) -> bool:
        try:
            return local_path(self.brick_path, entry).is_dir()
        except Unreadable:
            return False

    def _resolve(self, d: _Deadline, source: str, entry: str) -> int:
        """1 when ``entry`` was resolved from ``source``; 0 when the CLI refused
        and it is not (or no longer) listed in split-brain: a gfid candidate that
        was only pending, or a self-heal got there first."""
        try:
            resolve(self.cli, self.volume, source, entry, timeout_s=d.left())
        except GlusterTimeout:
            raise
        except GlusterError:
            if entry in self._entries(d).split_files():
                raise
            return 0
        return 1

    def _read_copy(self, d: _Deadline, entry: str, client: str, listed: bool) -> bytes:
        """``client``'s copy of ``entry`` through the mount. For a file the CLI
        lists in split-brain, a mount that does not show it so (or cannot read
        it) has not reconnected to that brick yet since the cut (its reconnect
        waits for a SYN retransmission, seconds to a minute): retried until the
        deadline is near, then Uncertain (GlusterTimeout), never skipped."""
        while True:
            try:
                return read_through_mount(
                    self.cli.launcher, self.mount, entry, client, timeout_s=d.left()
                )
            except (NotSplit, Unreadable) as exc:
                if not listed:
                    raise
                if d.until - time.monotonic() < RESERVE_S:
                    raise GlusterTimeout(
                        f"{entry}: the mount did not show {client}'s copy in time ({exc})"
                    ) from None
            d.sleep()

    def _heal_until_clean(self, d: _Deadline) -> None:
        last = ""
        while True:
            found = self._entries(d)
            if found.clean():
                return
            if time.monotonic() >= d.until:
                raise GlusterTimeout(f"entries still pending at the deadline ({last or 'none'})")
            last = index_heal(self.cli, self.volume, timeout_s=d.left()) or last
            d.sleep()

    # ---------------------------------------------------------- quarantine --

    def quarantine_losing_copy(self, *, key: str, deadline: int) -> Outcome:
        def op(d: _Deadline) -> Outcome:
            kept, total = self._quarantine_local(d, key)
            return Done(detail=f"{kept} copies of {self.brick} quarantined ({total} entries)")

        return self._run("quarantine", deadline, op)

    def _quarantine_local(self, d: _Deadline, key: str) -> tuple[int, int]:
        found = self._entries(d, need_all=False)
        if self.brick not in found.pending or self.brick not in found.split:
            raise GlusterTimeout(f"this node's brick {self.brick} did not answer heal info")
        mine: dict[str, None] = {}
        for entry in (*found.split[self.brick], *found.pending[self.brick]):
            mine.setdefault(entry, None)
        quarantine = Quarantine(self.quarantine_root)
        kept = 0
        for entry in mine:
            try:
                content = read_local_brick(self.brick_path, entry)
            except NotAFile:
                continue  # a directory's entries are listed (and kept) one by one
            kept += quarantine.keep(entry, self.brick, content, key)
        return kept, len(mine)

    # -------------------------------------------------------------- resync --

    def resync(self, *, key: str, deadline: int) -> Outcome:
        return self._run("resync", deadline, lambda d: self._resync(d, key))

    def _resync(self, d: _Deadline, key: str) -> Outcome:
        info = self._info(d)
        self._quarantine_local(d, key)  # first: a retry or a skipped step loses nothing
        found = self._entries(d, need_all=False)
        peers = [b for b in info.bricks if b != self.brick and b in found.pending]
        if not peers:
            return Failed("no peer brick reachable: cannot take its copy (nor see the conflicts)")
        source = peers[0]
        resolved = sum(
            self._resolve(d, source, entry)
            for entry in found.to_resolve()
            if not self._local_dir(entry)
        )
        self._heal_until_clean(d)
        return Done(detail=f"resynced from {source}; {resolved} split-brain files resolved")
