"""The Galera adapter: MariaDB Galera (10.11, Galera 4) seen and driven from the agent.

Modules, one job each: ``errors`` (typed failures), ``state_files`` (strict
parsers of grastate.dat and the ``--wsrep-recover`` position), ``credentials``
(secret or option file, never logged), ``probe`` (``SHOW STATUS LIKE 'wsrep_%'``
into an observation: a timeout is uncertain, never absent), ``server`` (start,
recover, stop mariadbd by PID), ``ops`` (the idempotent operations the plans
call), ``quarantine`` (a logical dump before a split-brain loser discards
anything), ``mycnf`` (the per-node option file).
"""
