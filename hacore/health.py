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
* then the active *yields*: lowers its VRRP priority and demotes. A healthy
  standby that VRRP elects then promotes, and its promotion plan runs every
  service step (Galera: join or form the primary component); when no other
  node can take the VIP (a lone survivor), VRRP hands it back after the
  hold-down and the node's own promotion plan is the repair (Galera's
  ``make_galera_primary``, with bootstrap when the plan allows it);
* at most ``MAX_SERVICE_YIELDS`` times until every service has been reported
  healthy again; after that the active stays and the fault stands
  (``ServiceFaultStanding``, shown by ``hacore status``): yielding again could
  only move the VIP around a cluster where no node can serve.
"""

from __future__ import annotations

from hacore.config import Timing

# Yields per fault episode: one is enough when a healthy standby exists or a
# lone survivor may bootstrap; three absorb a repair that fails once.
MAX_SERVICE_YIELDS = 3


def service_grace_us(timing: Timing) -> int:
    """How long a service fault on the active must last before the core acts."""
    return timing.step_timeout_us
