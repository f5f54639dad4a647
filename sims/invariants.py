"""The run invariants, one function each, checked on every run.

Safety invariants are checked while the run goes (the engine calls the
``*_now`` checks at the instant something changes, so a violation carries the
exact time); the others are checked once, at the end of the heal phase, by the
functions in :data:`END_CHECKS`. Every check returns the violation details
(empty when the invariant holds); the simulation records each as
``"NAME: at TIME: DETAIL"`` under the invariant's name in :data:`INVARIANTS`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from hacore import events as ev
from hacore.log import LogError, redecide, replay_records
from hacore.node import Node
from hacore.roles import Mode, PeerRole, Role
from hacore.state import NodeState
from hacore.timefmt import seconds
from sims.progress import progress
from sims.replay import NEVER

if TYPE_CHECKING:
    from sims.simnode import SimNode
    from sims.world import World

INVARIANTS = (
    "convergence",
    "one-active-per-epoch",
    "nothing-lost",
    "replay",
    "epochs-monotonic",
    "idempotent-steps",
    "availability",
    "split-brain-verdicts-agree",
    "progress",
)

# ------------------------------------------------------- checked live ----


def epochs_monotonic_now(name: str, before: NodeState, after: NodeState) -> str:
    """Invariant 5, epochs-monotonic: epochs never decrease on any node (neither the
    node's own epoch nor the highest epoch it has seen)."""
    if after.epoch < before.epoch or after.max_epoch_seen < before.max_epoch_seen:
        return (
            f"{name}: epoch {before.epoch}->{after.epoch}, "
            f"max seen {before.max_epoch_seen}->{after.max_epoch_seen}"
        )
    return ""


def one_active_per_epoch_now(owners: dict[int, str], name: str, epoch: int) -> str:
    """Invariant 2, one-active-per-epoch: one active per epoch, ever. ``owners``
    remembers the first node active in each epoch; called when ``name`` turns active."""
    owner = owners.setdefault(epoch, name)
    if owner != name:
        return f"epoch {epoch} active on {owner} and {name}"
    return ""


def no_two_writable_now(sim: World, writable: int) -> str:
    """Invariant 2, safety-first half: never two writable actives at the same instant."""
    if writable >= 2 and sim.p.mode is Mode.SAFETY_FIRST:
        names = [n.name for n in sim.data if sim.writable(n)]
        return f"two writable actives at once: {names}"
    return ""


def fingerprint(sim: World, n: SimNode) -> tuple[object, ...]:
    """What a plan step can change on ``n`` and the cluster (for invariant 6)."""
    return (
        len(n.history),
        n.history[-1] if n.history else 0,
        n.g_gid,
        n.g_primary,
        n.g_boot,
        n.g_view,
        len(n.k3s_db),
        n.k3s_running,
        n.litestream_on,
        n.gl_pending,
        n.gl_split,
        len(sim.quarantine),
        len(sim.discarded),
    )


def idempotent_steps_now(
    name: str, step: str, before: tuple[object, ...], after: tuple[object, ...], again: str
) -> str:
    """Invariant 6, idempotent-steps: a step executed twice (injected) leaves the same
    outcome: the second run succeeds and changes nothing."""
    if again or before != after:
        return (
            f"{name}: step {step} run twice changed the outcome "
            f"({before} -> {after}, {again or 'ok'})"
        )
    return ""


# ---------------------------------------------------- checked at the end ----


def up_holds_majority(sim: World) -> bool:
    """Can the members up at the end serve? They hold a majority of the votes, or
    they are one node of the reference pair in ``availability-first`` (two
    voters: a survivor may bootstrap). A minority refuses to serve by design."""
    voters = [n for n in sim.nodes if n.up]
    if 2 * len(voters) > sim.total_votes:
        return True
    return sim.p.mode is Mode.AVAILABILITY_FIRST and sim.total_votes == 2 and len(voters) == 1


def converged(sim: World) -> bool:
    """Invariant 1's predicate, judged over the data nodes up now (a node crashed for
    good is no failure of the others): exactly one of them active and writable, the
    rest standby, all agreeing on its epoch, no Gluster split-brain. When the members
    up hold no majority the cluster refuses to serve by design: converged means no
    active among them."""
    up = [n for n in sim.data if n.up]
    if not up or any(n.core is None for n in up):
        return False
    actives = [n for n in up if n.role is Role.ACTIVE]
    if not up_holds_majority(sim):
        return not actives
    if len(actives) != 1:
        return False
    active = actives[0]
    assert active.core is not None
    epoch = active.core.state.epoch
    if not sim.writable(active):
        return False
    for n in up:
        if n is active:
            continue
        assert n.core is not None
        if n.role is not Role.STANDBY:
            return False
        view = n.core.state.peer(active.name)
        if view is None or view.role is not PeerRole.ACTIVE or view.epoch != epoch:
            return False
        if n.gl_split:
            return False
    return not active.gl_split


def convergence(sim: World) -> list[str]:
    """Invariant 1, convergence: within the bound after the last fault heals
    (Master_Down_Interval plus the plans' duration bound; the run ends there),
    exactly one node is active, the rest standby, and all agree on its epoch
    (over the members up at the end; see :func:`converged`)."""
    if sim.last_heal >= NEVER:
        return []  # no heal phase in this run (a fuzzer prefix): nothing promised
    if converged(sim):
        return []
    roles = ", ".join(f"{n.name}={n.role if n.up else 'down'}" for n in sim.data)
    if sim.end < sim.last_heal:
        return [
            f"not converged: the run ended at {seconds(sim.end)}, before the last heal"
            f" at {seconds(sim.last_heal)} ({roles})"
        ]
    return [f"not converged {seconds(sim.end - sim.last_heal)} after the last heal ({roles})"]


def write_fates(sim: World) -> list[tuple[int, str, int, str]]:
    """Each acknowledged write's fate at the end: (at, node, write id, fate), fate
    "kept" (in the final active's data), "quarantined" or "lost"."""
    actives = [n for n in sim.data if n.role is Role.ACTIVE and n.up]
    final = set(actives[0].history) if len(actives) == 1 else set()
    fates: list[tuple[int, str, int, str]] = []
    for w, node, at in sim.acked:
        if w in final:
            fate = "kept"
        elif w in sim.quarantine:
            fate = "quarantined"
        else:
            fate = "lost"
        fates.append((at, node, w, fate))
    return fates


def write_losses(sim: World) -> tuple[int, int, list[int]]:
    """Acknowledged writes missing from the final active: (lost, quarantined, first lost)."""
    fates = write_fates(sim)
    lost = [w for _at, _node, w, fate in fates if fate == "lost"]
    quarantined = sum(1 for *_rest, fate in fates if fate == "quarantined")
    return len(lost), quarantined, lost[:5]


def nothing_lost(sim: World) -> list[str]:
    """Invariant 3, nothing-lost: every acknowledged business write is in the final
    active's data or in a quarantine record, and so is every acknowledged k8s
    object except those litestream had not shipped when their node crashed
    (sims.k3s.SimK3s.lag_lost); judged only when a node is active."""
    if sim.last_heal >= NEVER:
        return []  # mid-chaos (a fuzzer prefix): the heal's quarantines are yet to come
    if not any(n.role is Role.ACTIVE and n.up for n in sim.data):
        return []
    details = []
    lost, _quarantined, first_lost = write_losses(sim)
    if lost:
        details.append(f"{lost} acknowledged writes lost, e.g. {first_lost}")
    # k8s objects: litestream's lag (unshipped when the active crashed) is the
    # design's accepted loss; any other missing object is a violation.
    k8s = [k for k, fate in sim.k3s.fates().items() if fate == "lost"]
    if k8s:
        details.append(
            f"{len(k8s)} acknowledged k8s objects lost, not to litestream's lag, e.g. {k8s[:5]}"
        )
    return details


def replay(sim: World) -> list[str]:
    """Invariant 4, replay: each node's log replays to its final state and re-decides
    to the same decisions; hash chains verify."""
    details: list[str] = []
    for n in sim.data:
        records = list(n.log.records())
        try:
            n.log.verify_all()
            state = replay_records(n.name, records)
            if n.core is not None and state != n.core.state:
                details.append(f"{n.name}: replayed state differs from the live one")
            mismatches = redecide(Node(sim.config, n.name).ctx, records)
            if mismatches:
                details.append(f"{n.name}: re-deciding record {mismatches[0].seq} differs")
        except LogError as exc:
            details.append(f"{n.name}: {exc}")
    return details


def split_brain_verdicts_agree(sim: World) -> list[str]:
    """Invariant 8 (the project's addition), split-brain-verdicts-agree: both sides of
    every split-brain name the same winner.

    A split-brain is the pair (node, its epoch) x (peer, the peer's epoch); each side
    records its verdict in a SplitBrainResolved event. Reports the first one whose
    sides named different winners.
    """
    verdicts: dict[frozenset[tuple[str, int]], dict[str, str]] = {}
    for n in sim.data:
        peer: tuple[str, int] | None = None
        for r in n.log.records():
            if r.type == ev.SplitBrainDetected.TYPE:
                detected = r.message()
                assert isinstance(detected, ev.SplitBrainDetected)
                peer = (detected.peer, detected.peer_epoch)
            elif r.type == ev.SplitBrainResolved.TYPE and peer is not None:
                resolved = r.message()
                assert isinstance(resolved, ev.SplitBrainResolved)
                key = frozenset({(n.name, r.epoch), peer})
                verdicts.setdefault(key, {})[n.name] = resolved.winner
    for key in sorted(verdicts, key=sorted):
        winners = verdicts[key]
        if len(set(winners.values())) > 1:
            sides = ", ".join(f"{k} says {v}" for k, v in sorted(winners.items()))
            return [f"split-brain {sorted(key)}: {sides}"]
    return []


def availability(sim: World) -> list[str]:
    """Invariant 7, availability: after a single failure of the active, the time with
    no (writable) active stays under the bound. ``safety-first`` promises nothing when
    the survivors lack a majority: by design the cluster then refuses to serve."""
    attainable = sim.p.mode is Mode.AVAILABILITY_FIRST or (
        (sim.total_votes - 1) * 2 > sim.total_votes
    )
    if sim.failure_at is None or not attainable:
        return []
    gap = sim.max_gap_after_failure
    if sim.gap_start is not None:
        gap = max(gap, sim.now - sim.gap_start)
    bound = sim.p.availability_bound_us()
    if gap > bound:
        return [
            f"{seconds(gap)} without a writable active after the active failed "
            f"(bound {seconds(bound)})"
        ]
    return []


# In the order the end-of-run checks report (the violations list keeps it).
END_CHECKS: tuple[tuple[str, Callable[[World], list[str]]], ...] = (
    ("convergence", convergence),
    ("nothing-lost", nothing_lost),
    ("replay", replay),
    ("split-brain-verdicts-agree", split_brain_verdicts_agree),
    ("availability", availability),
    ("progress", progress),
)
