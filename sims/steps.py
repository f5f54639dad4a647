"""Plan-step execution: what each ``RunStep`` does to the simulated services.

Each step takes a seeded duration from ``step_us`` times the node's ``slow``
factor, then reports ``StepSucceeded`` or ``StepFailed`` with the same plan,
step and attempt. Injected failures (``failsteps``) come first, then transient
failures during the chaos phase; a fraction of successful steps is run twice
on purpose and must leave the same outcome (invariant 6).
"""

from __future__ import annotations

from hacore import effects as fx
from hacore import inputs as inp
from sims import invariants
from sims.simnode import SimNode
from sims.world import World


class Steps(World):
    """Carry out failover plan steps on the simulated services."""

    def _step_done(self, arg: tuple[int, int, fx.RunStep]) -> None:
        index, inc, eff = arg
        n = self.nodes[index]
        if not self._alive(n, inc) or self._defer(n, self._step_done, arg):
            return
        reason = ""
        if n.fail_next > 0:
            n.fail_next -= 1
            reason = "injected failure"
        elif self.chaos and self.p.step_fail_rate and self.rng.random() < self.p.step_fail_rate:
            reason = "transient failure"
        if not reason:
            reason = self._run_step(n, eff)
            if not reason and self.rng.random() < self.p.double_step_rate:
                before = invariants.fingerprint(self, n)
                again = self._run_step(n, eff)
                self.double_checks += 1
                after = invariants.fingerprint(self, n)
                broken = invariants.idempotent_steps_now(n.name, eff.step, before, after, again)
                if broken:
                    self._violate("idempotent-steps", broken)
        if reason:
            self._feed(n, inp.StepFailed(self.now, eff.plan_id, eff.step, eff.attempt, reason))
        else:
            self._feed(n, inp.StepSucceeded(self.now, eff.plan_id, eff.step, eff.attempt))

    def _run_step(self, n: SimNode, eff: fx.RunStep) -> str:
        """Perform one plan step on the simulated services; "" on success."""
        step = eff.step
        if step == "confirm_old_active_gone" or step in ("mark_active", "mark_standby"):
            return ""
        if step == "restore_k3s_db":
            if n.replica:
                n.k3s_db = list(n.replica)
            return ""
        if step == "start_k3s":
            n.k3s_running = True
            return ""
        if step == "make_galera_primary":
            if n.g_held:  # the agent starts MariaDB now; it joins what it can
                n.g_held = False
                self._galera_recompute()
            if n.g_primary:
                return ""
            if not eff.bootstrap_allowed:
                return "galera: non-primary component and bootstrap not allowed"
            comp = [m for m in self.nodes if m.up and (m is n or self.connected(n, m))]
            self._form([m for m in comp if not m.g_primary], n, boot=True)
            self.timeline.append((self.now, n.name, "galera pc.bootstrap"))
            return ""
        if step == "heal_gluster":
            n.gl_split = False
            n.gl_pending = 0
            return ""
        if step == "start_replication":
            n.litestream_on = True
            return ""
        if step == "quarantine_divergent":
            # Compare with the primary component this node will rejoin (GTIDs),
            # or, unreachable, keep everything since the last full-cluster sync.
            donor = self._rejoin_donor(n)
            if donor is not None:
                theirs = set(donor.history)
                for w in n.history:
                    if w not in theirs:
                        self.quarantine.add(w)
            else:
                for w in n.history[n.synced_len :]:
                    self.quarantine.add(w)
            replicated = set(n.replica)
            for k in n.k3s_db:
                if k not in replicated:
                    self.k8s_quarantine.add(k)
            return ""
        if step == "stop_replication":
            n.litestream_on = False
            return ""
        if step == "stop_k3s":
            n.k3s_running = False
            return ""
        if step == "rejoin_galera":
            if n.g_held:  # quarantine ran first: MariaDB may start (and SST) now
                n.g_held = False
                self._galera_recompute()
            self._rejoin(n)
            return ""
        if step == "resync_gluster":
            n.gl_pending = 0
            n.gl_split = False
            for m in self.data:
                if m is not n and self.connected(n, m) and m.gl_split:
                    m.gl_split = False
                    m.gl_pending = 0
            return ""
        return f"unknown step {step}"
