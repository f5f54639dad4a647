"""k3s: the adapter driving k3s through its documented interface (start/stop
commands, the kine datastore ``state.db``, ``/readyz``) and a STAND-IN server
for tests (k3s itself cannot be installed on these machines)."""
