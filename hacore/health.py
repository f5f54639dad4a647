"""Service faults on the active: how long the core waits, how often it acts.

The runtime polls the node's services (the Galera port's status poll in the
agent, the port fakes in the simulator) and reports a change of health as a
``ServiceReported`` input; the core records it (``NodeState.unhealthy``). A
service fault on a standby needs nothing from the core: its next demotion or
promotion plan runs the service's steps again. On the *active* no plan step
revisits a service once the promotion finished, so a fault there (its Galera
non-primary for good after its peer crashed) would
stand for ever with the VIP held by a node that serves nothing. The table's
rule (hacore.table, ACTIVE x timer-fired, ``service_fault_due``):

* the fault must last the service grace, :func:`service_grace_us`: as long
  as the core waits for a plan step before calling it failed (a view change
  heals by itself; a partition shorter than that is settled at its heal by
  the split-brain policy, as before; a longer one is treated like the loss of
  the peer, which a promoting standby treats the same way);
* then the active runs the *repair* plan (ACTIVE -> PROMOTING -> ACTIVE, in
  its epoch): the promotion's service steps that can run on an active
  (Galera's ``make_galera_primary`` joins the primary component, or forms one
  where the plan may bootstrap: the reference pair's lone survivor), then
  ``mark_active``. Not a demotion first: a lone survivor's demotion cannot
  complete (Gluster's resync needs a peer brick) and would hand the VIP to
  nobody;
* at most ``MAX_SERVICE_REPAIRS`` times until every service has been reported
  healthy again; after that the active stays and the fault stands
  (``ServiceFaultStanding``, shown by ``hacore status``);
* a repair that cannot succeed (Galera non-primary, no bootstrap, no
  majority in reach) fails, goes to fault and is *parked* (hacore.table):
  nothing retries it on a timer, contact with a peer does.
"""

from __future__ import annotations

from hacore.config import Timing

# Repairs per fault episode: one is enough when the primary component is in
# reach or a lone survivor may bootstrap; three absorb a repair that fails once.
MAX_SERVICE_REPAIRS = 3


def service_grace_us(timing: Timing) -> int:
    """How long a service fault on the active must last before the core acts."""
    return timing.step_timeout_us
