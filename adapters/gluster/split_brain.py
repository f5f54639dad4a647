"""Split-brain entries and their resolution through the gluster CLI.

Measured on GlusterFS 10.3 (replica 2, default options; docs/gluster.md):

* the same existing file written on both sides of a partition is a *data*
  split-brain: ``split-brain source-brick HOST:BRICK FILE`` answers
  "Healed FILE."; a mount can read each brick's copy after
  ``setfattr replica.split-brain-choice VOL-client-N``;
* the same *new* name created on both sides is a *gfid* split-brain
  ("GFID split-brain resolved for file FILE"); ``heal info split-brain``
  does not list the file, only its parent directory (the file is pending on
  both bricks in ``heal info``); the mount cannot read it at all (EIO, the
  choice too), only the bricks hold the copies;
* the parent directory (``/`` here) cannot be resolved by the CLI ("Lookup
  failed on /"): it clears once its files are resolved and an index heal
  (``volume heal VOL``) has run;
* none of these commands has an XML answer: the exit code and the text are
  what there is.
"""

from __future__ import annotations

from dataclasses import dataclass

from adapters.gluster.cli import GlusterCli
from adapters.gluster.errors import GlusterError
from adapters.gluster.heal_info import BrickEntries, parse_heal_info, parse_split_brain


class UnreachableBrick(GlusterError):
    """A brick the operation needs did not answer: its entries are unknown."""


@dataclass(frozen=True, slots=True)
class Entries:
    """What ``heal info`` (pending) and ``heal info split-brain`` list per brick."""

    pending: dict[str, tuple[str, ...]]
    split: dict[str, tuple[str, ...]]

    def split_files(self) -> tuple[str, ...]:
        """Every split-brain entry but the volume's root (not resolvable by the CLI), once."""
        seen: dict[str, None] = {}
        for files in self.split.values():
            for f in files:
                if f != "/":
                    seen.setdefault(f, None)
        return tuple(seen)

    def gfid_candidates(self) -> tuple[str, ...]:
        """Entries pending on two or more bricks under a directory in split-brain,
        not listed themselves: how a gfid split-brain shows (the CLI lists only
        its parent directory). Some may be plain pending entries; resolving one
        of those is refused by the CLI and changes nothing."""
        listed = {f for files in self.split.values() for f in files}
        count: dict[str, int] = {}
        for files in self.pending.values():
            for f in dict.fromkeys(files):
                count[f] = count.get(f, 0) + 1
        out = []
        for f, n in count.items():
            parent = f.rsplit("/", 1)[0] or "/"
            if n >= 2 and f.startswith("/") and f != "/" and f not in listed and parent in listed:
                out.append(f)
        return tuple(out)

    def to_resolve(self) -> tuple[str, ...]:
        return self.split_files() + self.gfid_candidates()

    def clean(self) -> bool:
        return not any(self.pending.values()) and not any(self.split.values())


def _by_brick(bricks: tuple[BrickEntries, ...], need_all: bool) -> dict[str, tuple[str, ...]]:
    unknown = [b.name for b in bricks if b.count is None]
    if unknown and need_all:
        raise UnreachableBrick(f"bricks not reachable: {', '.join(unknown)}")
    return {b.name: b.files for b in bricks if b.count is not None}


def entries(cli: GlusterCli, volume: str, *, timeout_s: float, need_all: bool = True) -> Entries:
    """Pending and split-brain entries; with ``need_all`` an unreachable brick is
    :class:`UnreachableBrick` (its entries cannot be known)."""
    pending = parse_heal_info(cli.xml(["volume", "heal", volume, "info"], timeout_s=timeout_s))
    split = parse_split_brain(
        cli.xml(["volume", "heal", volume, "info", "split-brain"], timeout_s=timeout_s)
    )
    return Entries(_by_brick(pending, need_all), _by_brick(split, need_all))


def resolve(cli: GlusterCli, volume: str, source: str, entry: str, *, timeout_s: float) -> str:
    """Resolve ``entry``'s split-brain taking ``source``'s copy; the CLI's words.
    A refusal is a :class:`GlusterError` with the CLI's message."""
    rc, out, err = cli.plain(
        ["volume", "heal", volume, "split-brain", "source-brick", source, entry],
        timeout_s=timeout_s,
    )
    said = (out.strip() or err.strip())[:300]
    if rc != 0 or not ("Healed" in said or "resolved" in said):
        raise GlusterError(f"split-brain source-brick {source} {entry}: exit {rc}: {said}")
    return said


def index_heal(cli: GlusterCli, volume: str, *, timeout_s: float) -> str:
    """``volume heal VOL``: ask the self-heal daemons to heal what is pending now.
    Returns "" when launched, else the CLI's words (it fails for a while after a
    brick restarts, until the self-heal daemon reconnects: callers retry)."""
    rc, out, err = cli.plain(["volume", "heal", volume], timeout_s=timeout_s)
    if rc == 0 and "has been successful" in out:
        return ""
    return f"volume heal {volume}: exit {rc}: {(out.strip() or err.strip())[:300]}"
