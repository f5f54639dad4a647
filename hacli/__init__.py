"""The top layer: the ``hacore`` command and the glue that needs both ``sims``
and ``adapters`` (docs/runtime.md §Layering)."""
