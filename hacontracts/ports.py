"""Behavioural contracts for the service ports of :mod:`hacore.ports`.

One class per port. Subclass it once per implementation (name the subclass
``Test...`` so pytest collects it) and implement its hooks; every class needs

* ``make_port()``: a fresh port on a healthy node (called by ``setup_method``
  as ``self.port``; override ``setup_method`` to build more first);
* ``now()``: the implementation's clock in microseconds (the deadlines'
  base: virtual time for a fake, monotonic time for a real adapter);
* ``make_unresponsive()``: the thing behind the port stops answering (a
  SIGSTOPped daemon, a black-holed socket, a fake's switch); raise
  ``unittest.SkipTest`` if the implementation cannot be made to.

What every port must do (OCF's contract plus hacore's): each operation is
idempotent (the second call with the same key is ``Done`` and changes
nothing more), has a deadline and returns by it (``slack_us`` of tolerance),
and reports a typed outcome; when it cannot tell whether it acted, it says
:class:`~hacore.ports.Uncertain`, never :class:`~hacore.ports.Done`. A
quarantine copies aside what a later step may discard, before that step.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Collection

from hacore import inputs as inp
from hacore.ports import (
    DatastorePort,
    Done,
    Failed,
    GaleraPort,
    GlusterPort,
    K3sPort,
    Outcome,
    TimerPort,
    TransportPort,
    Uncertain,
    VipPort,
)
from hacore.roles import Role

_keys = itertools.count(1)


class PortContract:
    """What every port contract shares: keys, deadlines, the unresponsive case."""

    budget_us = 5_000_000  # each call's deadline: now + budget
    slack_us = 1_000_000  # how late past its deadline a call may return

    def now(self) -> int:
        raise NotImplementedError

    def make_unresponsive(self) -> None:
        raise NotImplementedError

    def key(self, what: str) -> str:
        return f"contract/{what}/{next(_keys)}"

    def deadline(self) -> int:
        return self.now() + self.budget_us

    def assert_done_twice(self, call: Callable[[str, int], Outcome], what: str) -> None:
        """Idempotent: the same call twice (same key) is Done both times."""
        key = self.key(what)
        first = call(key, self.deadline())
        again = call(key, self.deadline())
        assert isinstance(first, Done), (what, first)
        assert isinstance(again, Done), (what, "second call", again)

    def assert_uncertain(self, calls: dict[str, Callable[[str, int], Outcome]]) -> None:
        """Unresponsive: every call is Uncertain (never Done), by its deadline."""
        self.make_unresponsive()
        for what, call in calls.items():
            deadline = self.deadline()
            outcome = call(self.key(what), deadline)
            assert isinstance(outcome, Uncertain), (what, outcome)
            assert outcome.reason, (what, "an uncertain outcome says why")
            assert self.now() <= deadline + self.slack_us, (what, "returned after its deadline")


# ---------------------------------------------------------------- Galera ----


class GaleraPortContract(PortContract):
    """Hooks: ``make_port``, ``now``, ``make_unresponsive``, and

    * ``is_primary()``: this member is in a primary component now;
    * ``accepts_writes()``: a client write to this member would be taken;
    * ``committed()``: this member's committed seqno (what a probe reports);
    * ``isolate()``: cut this member off into a minority (non-primary);
    * ``diverge()``: make this member commit writes the cluster's primary
      component lacks, then reconnect it (both sides primary: a healed
      split-brain); return the ids of those writes;
    * ``quarantined()``: ids of writes copied aside so far;
    * ``discarded()``: ids of writes this member has lost (to an SST).
    """

    port: GaleraPort

    def make_port(self) -> GaleraPort:
        raise NotImplementedError

    def setup_method(self) -> None:
        self.port = self.make_port()

    def is_primary(self) -> bool:
        raise NotImplementedError

    def accepts_writes(self) -> bool:
        raise NotImplementedError

    def committed(self) -> int:
        raise NotImplementedError

    def isolate(self) -> None:
        raise NotImplementedError

    def diverge(self) -> Collection[int]:
        raise NotImplementedError

    def quarantined(self) -> Collection[int]:
        raise NotImplementedError

    def discarded(self) -> Collection[int]:
        raise NotImplementedError

    def test_fencing_writes_is_idempotent_and_reversible(self) -> None:
        p = self.port
        self.assert_done_twice(lambda k, d: p.fence_writes(fenced=True, key=k, deadline=d), "fence")
        assert not self.accepts_writes()
        self.assert_done_twice(
            lambda k, d: p.fence_writes(fenced=False, key=k, deadline=d), "unfence"
        )
        assert self.accepts_writes()

    def test_make_primary_on_a_primary_component_is_done_without_bootstrap(self) -> None:
        p = self.port
        assert self.is_primary()
        self.assert_done_twice(
            lambda k, d: p.make_primary(bootstrap_allowed=False, key=k, deadline=d), "primary"
        )
        assert self.is_primary()

    def test_make_primary_in_a_minority_fails_unless_bootstrap_is_allowed(self) -> None:
        p = self.port
        self.isolate()
        assert not self.is_primary()
        refused = p.make_primary(
            bootstrap_allowed=False, key=self.key("p"), deadline=self.deadline()
        )
        assert isinstance(refused, Failed), refused
        assert not self.is_primary()
        self.assert_done_twice(
            lambda k, d: p.make_primary(bootstrap_allowed=True, key=k, deadline=d), "bootstrap"
        )
        assert self.is_primary()

    def test_a_probe_reports_the_committed_seqno_as_local_progress(self) -> None:
        outcome = self.port.probe(key=self.key("probe"), deadline=self.deadline())
        assert isinstance(outcome, Done), outcome
        progress = [i for i in outcome.inputs if isinstance(i, inp.LocalProgress)]
        assert [i.committed for i in progress] == [self.committed()]

    def test_quarantine_before_rejoin_keeps_every_write_the_rejoin_discards(self) -> None:
        p = self.port
        divergent = set(self.diverge())
        assert divergent, "diverge() made no divergent write"
        self.assert_done_twice(lambda k, d: p.quarantine(key=k, deadline=d), "quarantine")
        kept = set(self.quarantined())
        assert divergent <= kept
        self.assert_done_twice(lambda k, d: p.rejoin(key=k, deadline=d), "rejoin")
        lost = set(self.discarded())
        assert lost, "the rejoin discarded nothing: the divergence was not real"
        assert lost <= kept, f"discarded without quarantine: {sorted(lost - kept)}"
        assert self.is_primary()

    def test_an_unresponsive_member_is_uncertain_never_done(self) -> None:
        p = self.port
        self.assert_uncertain(
            {
                "probe": lambda k, d: p.probe(key=k, deadline=d),
                "primary": lambda k, d: p.make_primary(bootstrap_allowed=True, key=k, deadline=d),
                "rejoin": lambda k, d: p.rejoin(key=k, deadline=d),
                "fence": lambda k, d: p.fence_writes(fenced=True, key=k, deadline=d),
                "quarantine": lambda k, d: p.quarantine(key=k, deadline=d),
            }
        )


# ------------------------------------------------------------- datastore ----


class DatastorePortContract(PortContract):
    """Hooks: ``make_port``, ``now``, ``make_unresponsive``, and

    * ``replicating()``: litestream ships local changes now;
    * ``write_local()``: store one object locally (k3s running), return its id;
    * ``catch_up()``: let replication bring the replica level with the local database;
    * ``local()`` / ``replica()``: object ids in the local database / the replica;
    * ``quarantined()``: object ids copied aside so far.
    """

    port: DatastorePort

    def make_port(self) -> DatastorePort:
        raise NotImplementedError

    def setup_method(self) -> None:
        self.port = self.make_port()

    def replicating(self) -> bool:
        raise NotImplementedError

    def write_local(self) -> int:
        raise NotImplementedError

    def catch_up(self) -> None:
        raise NotImplementedError

    def local(self) -> Collection[int]:
        raise NotImplementedError

    def replica(self) -> Collection[int]:
        raise NotImplementedError

    def quarantined(self) -> Collection[int]:
        raise NotImplementedError

    def test_replication_starts_and_stops_idempotently(self) -> None:
        p = self.port
        self.assert_done_twice(lambda k, d: p.start_replication(key=k, deadline=d), "start")
        assert self.replicating()
        self.assert_done_twice(lambda k, d: p.stop_replication(key=k, deadline=d), "stop")
        assert not self.replicating()

    def test_quarantine_before_restore_keeps_the_newer_local_objects(self) -> None:
        p = self.port
        p.start_replication(key=self.key("start"), deadline=self.deadline())
        replicated = self.write_local()
        self.catch_up()
        assert replicated in set(self.replica())
        p.stop_replication(key=self.key("stop"), deadline=self.deadline())
        newer = self.write_local()
        assert newer in set(self.local()) and newer not in set(self.replica())
        self.assert_done_twice(lambda k, d: p.quarantine_newer_local(key=k, deadline=d), "q")
        assert newer in set(self.quarantined())
        self.assert_done_twice(lambda k, d: p.restore_from_replica(key=k, deadline=d), "restore")
        assert newer not in set(self.local())
        assert replicated in set(self.local())
        assert set(self.local()) == set(self.replica())

    def test_an_unresponsive_datastore_is_uncertain_never_done(self) -> None:
        p = self.port
        self.assert_uncertain(
            {
                "restore": lambda k, d: p.restore_from_replica(key=k, deadline=d),
                "start": lambda k, d: p.start_replication(key=k, deadline=d),
                "stop": lambda k, d: p.stop_replication(key=k, deadline=d),
                "quarantine": lambda k, d: p.quarantine_newer_local(key=k, deadline=d),
            }
        )


# ------------------------------------------------------------------- k3s ----


class K3sPortContract(PortContract):
    """Hooks: ``make_port``, ``now``, ``make_unresponsive``."""

    port: K3sPort

    def make_port(self) -> K3sPort:
        raise NotImplementedError

    def setup_method(self) -> None:
        self.port = self.make_port()

    def test_start_is_idempotent_and_then_ready(self) -> None:
        p = self.port
        self.assert_done_twice(lambda k, d: p.start(key=k, deadline=d), "start")
        assert isinstance(p.ready(key=self.key("ready"), deadline=self.deadline()), Done)

    def test_stop_is_idempotent_and_then_never_ready(self) -> None:
        p = self.port
        p.start(key=self.key("start"), deadline=self.deadline())
        self.assert_done_twice(lambda k, d: p.stop(key=k, deadline=d), "stop")
        ready = p.ready(key=self.key("ready"), deadline=self.deadline())
        assert not isinstance(ready, Done), ready

    def test_an_unresponsive_k3s_is_uncertain_never_done(self) -> None:
        p = self.port
        self.assert_uncertain(
            {
                "start": lambda k, d: p.start(key=k, deadline=d),
                "stop": lambda k, d: p.stop(key=k, deadline=d),
                "ready": lambda k, d: p.ready(key=k, deadline=d),
            }
        )


# --------------------------------------------------------------- Gluster ----


class GlusterPortContract(PortContract):
    """Hooks: ``make_port``, ``now``, ``make_unresponsive``, and

    * ``make_split_brain()``: this node and a peer both changed files while apart;
    * ``split_brain()``: this node's volume is in split-brain now;
    * ``quarantined_copies()``: how many losing copies were set aside so far.
    """

    port: GlusterPort

    def make_port(self) -> GlusterPort:
        raise NotImplementedError

    def setup_method(self) -> None:
        self.port = self.make_port()

    def make_split_brain(self) -> None:
        raise NotImplementedError

    def split_brain(self) -> bool:
        raise NotImplementedError

    def quarantined_copies(self) -> int:
        raise NotImplementedError

    def test_heal_ends_a_split_brain_and_is_idempotent(self) -> None:
        p = self.port
        self.make_split_brain()
        assert self.split_brain()
        self.assert_done_twice(lambda k, d: p.heal(key=k, deadline=d), "heal")
        assert not self.split_brain()

    def test_the_losing_copy_is_quarantined_once_before_a_resync(self) -> None:
        p = self.port
        self.make_split_brain()
        before = self.quarantined_copies()
        self.assert_done_twice(lambda k, d: p.quarantine_losing_copy(key=k, deadline=d), "q")
        copied = self.quarantined_copies() - before
        assert copied > 0, "nothing quarantined in a split-brain"
        p.quarantine_losing_copy(key=self.key("q-again"), deadline=self.deadline())
        assert self.quarantined_copies() - before == copied, "the same copy quarantined twice"
        self.assert_done_twice(lambda k, d: p.resync(key=k, deadline=d), "resync")
        assert not self.split_brain()

    def test_a_probe_is_done(self) -> None:
        assert isinstance(self.port.probe(key=self.key("probe"), deadline=self.deadline()), Done)

    def test_an_unresponsive_volume_is_uncertain_never_done(self) -> None:
        p = self.port
        self.assert_uncertain(
            {
                "probe": lambda k, d: p.probe(key=k, deadline=d),
                "heal": lambda k, d: p.heal(key=k, deadline=d),
                "resync": lambda k, d: p.resync(key=k, deadline=d),
                "quarantine": lambda k, d: p.quarantine_losing_copy(key=k, deadline=d),
            }
        )


# ------------------------------------------------------------------- VIP ----


class VipPortContract(PortContract):
    """Hooks: ``make_port``, ``now``, ``make_unresponsive``, and

    * ``priority()`` / ``configured_priority()``: the VRRP priority in force / configured;
    * ``settle()``: let what the port started finish (time passes; reports arrive);
    * ``reports()``: the ``VrrpReported`` inputs the port delivered on its own
      stream (the notify FIFO) since ``make_port``.
    """

    port: VipPort

    def make_port(self) -> VipPort:
        raise NotImplementedError

    def setup_method(self) -> None:
        self.port = self.make_port()

    def priority(self) -> int:
        raise NotImplementedError

    def configured_priority(self) -> int:
        raise NotImplementedError

    def settle(self) -> None:
        raise NotImplementedError

    def reports(self) -> list[inp.VrrpReported]:
        raise NotImplementedError

    def test_yielding_priority_is_idempotent_and_restorable(self) -> None:
        p = self.port
        self.assert_done_twice(
            lambda k, d: p.set_priority_yield(yielded=True, key=k, deadline=d), "yield"
        )
        self.settle()
        assert self.priority() < self.configured_priority()
        self.assert_done_twice(
            lambda k, d: p.set_priority_yield(yielded=False, key=k, deadline=d), "restore"
        )
        self.settle()
        assert self.priority() == self.configured_priority()

    def test_a_probe_reports_the_state_once(self) -> None:
        self.settle()
        before = len(self.reports())
        outcome = self.port.probe(key=self.key("probe"), deadline=self.deadline())
        assert isinstance(outcome, Done), outcome
        self.settle()
        direct = [i for i in outcome.inputs if isinstance(i, inp.VrrpReported)]
        streamed = self.reports()[before:]
        assert len(direct) + len(streamed) == 1, (direct, streamed)

    def test_an_unresponsive_keepalived_is_uncertain_never_done(self) -> None:
        p = self.port
        self.assert_uncertain(
            {
                "yield": lambda k, d: p.set_priority_yield(yielded=True, key=k, deadline=d),
                "probe": lambda k, d: p.probe(key=k, deadline=d),
            }
        )


# ------------------------------------------------------------- transport ----


class TransportPortContract(PortContract):
    """Hooks: ``make_port``, ``now``, ``make_unresponsive``, and

    * ``role_and_epoch()``: what the node's durable state says, (role, epoch);
    * ``settle()``: let messages travel;
    * ``heard_by_peers()``: (role, epoch) pairs the peers received since ``make_port``.
    """

    port: TransportPort

    def make_port(self) -> TransportPort:
        raise NotImplementedError

    def setup_method(self) -> None:
        self.port = self.make_port()

    def settle(self) -> None:
        raise NotImplementedError

    def heard_by_peers(self) -> list[tuple[str, int]]:
        """(role value, epoch) pairs."""
        raise NotImplementedError

    def role_and_epoch(self) -> tuple[Role, int]:
        raise NotImplementedError

    def test_an_announcement_reaches_the_peers(self) -> None:
        role, epoch = self.role_and_epoch()
        outcome = self.port.announce(
            role=role, epoch=epoch, key=self.key("a"), deadline=self.deadline()
        )
        assert isinstance(outcome, Done), outcome
        self.settle()
        assert (str(role), epoch) in [(str(r), e) for r, e in self.heard_by_peers()]

    def test_an_unreachable_transport_is_uncertain_never_done(self) -> None:
        p = self.port
        role, epoch = self.role_and_epoch()
        self.assert_uncertain(
            {"announce": lambda k, d: p.announce(role=role, epoch=epoch, key=k, deadline=d)}
        )


# ---------------------------------------------------------------- timers ----


class TimerPortContract(PortContract):
    """Hooks: ``make_port``, ``now``, and

    * ``advance(us)``: let ``us`` microseconds pass on the port's clock;
    * ``fired()``: timer ids the port fired so far, in order.

    Timers are local: there is no unresponsive case. The port never fires a
    timer early; recognising a cancelled or re-armed timer is the
    dispatcher's job (``Dispatcher.timer_fired``), so a cancel only has to be
    ``Done``.
    """

    port: TimerPort

    def make_port(self) -> TimerPort:
        raise NotImplementedError

    def setup_method(self) -> None:
        self.port = self.make_port()

    def advance(self, us: int) -> None:
        raise NotImplementedError

    def fired(self) -> list[int]:
        raise NotImplementedError

    def test_a_timer_fires_once_at_its_due_time_not_before(self) -> None:
        due = self.now() + 2_000_000
        assert isinstance(self.port.start(timer_id=901, due=due, key=self.key("t")), Done)
        self.advance(due - self.now() - 1)
        assert 901 not in self.fired()
        self.advance(2)
        self.advance(1_000_000)
        assert self.fired().count(901) == 1

    def test_cancel_is_done_even_for_an_unknown_timer(self) -> None:
        assert isinstance(self.port.cancel(timer_id=902, key=self.key("c")), Done)
        due = self.now() + 1_000
        self.port.start(timer_id=903, due=due, key=self.key("t"))
        assert isinstance(self.port.cancel(timer_id=903, key=self.key("c")), Done)
        assert isinstance(self.port.cancel(timer_id=903, key=self.key("c")), Done)
