"""Contract suites: one behavioural suite per interface, run against every
implementation (the eventsourcing library's habit: one suite, subclassed per
implementation).

* :mod:`hacontracts.log`: :class:`~hacontracts.log.EventLogContract` for an
  ``hacore.log.EventLog``.
* :mod:`hacontracts.ports`: one contract per service port of
  :mod:`hacore.ports` (``GaleraPortContract``, ``DatastorePortContract``,
  ``K3sPortContract``, ``GlusterPortContract``, ``VipPortContract``,
  ``TransportPortContract``, ``TimerPortContract``).

A suite is a plain class whose ``test_*`` methods use bare ``assert``; it
imports no test framework. Subclass it in a module pytest collects, name the
subclass ``Test...``, and implement the hooks its docstring lists (see
docs/runtime.md §Contract suites)::

    class TestMyGalera(GaleraPortContract):
        def make_port(self) -> GaleraPort: ...

The package sits beside ``sims`` and ``adapters`` (it imports only ``hacore``),
so either side's tests, or yours, can run it.
"""
