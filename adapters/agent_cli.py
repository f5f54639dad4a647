"""``hacore agent``, the operator commands, ``history``, and ``status --config``.

* ``hacore agent --config FILE`` runs the agent in the foreground (JSON-line
  logs on stderr; SIGTERM or SIGINT stop it cleanly).
* ``hacore switchover [--to NODE]``, ``hacore resolve --winner NODE``,
  ``hacore clear-fault``: one ``OperatorCommand`` each, through the local
  agent's socket (``--config FILE`` names it).
* ``hacore history --config FILE [--since T] [--json]``: the node's log in
  human time.

Exit codes: 0 done; 1 refused or failed (the message says why); 2 bad usage,
configuration or an agent that does not answer.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import threading
import time
from datetime import datetime
from typing import Any

from adapters.agent.config import AgentConfig, ConfigFileError, ConfigValueError, load_config
from adapters.agent.operator_socket import OperatorSocketError, request
from adapters.agent.secret_files import SecretFileError, load_secrets
from adapters.store import NotAStoreError, SqliteStore, StoreError, StorePathError

CONFIG_DEFAULT = "/etc/hacore/agent.toml"
CONFIG_HELP = "the agent's TOML configuration, naming its socket"


def register(subparsers: Any) -> None:
    agent = subparsers.add_parser("agent", help="run the agent on this node", description=__doc__)
    agent.add_argument("--config", required=True, help="the agent's TOML configuration")
    agent.set_defaults(handler=cmd_agent)

    sw = subparsers.add_parser("switchover", help="planned demotion of the active node")
    sw.add_argument("--config", default=CONFIG_DEFAULT, help=CONFIG_HELP)
    sw.add_argument(
        "--to", default="", help="the node that should take over (default: the core chooses)"
    )
    sw.set_defaults(handler=lambda a: _command(a, {"op": "switchover", "target": a.to}))

    rs = subparsers.add_parser("resolve", help="manual split-brain policy: name the winner")
    rs.add_argument("--config", default=CONFIG_DEFAULT, help=CONFIG_HELP)
    rs.add_argument("--winner", required=True, help="the node that keeps the active role")
    rs.set_defaults(handler=lambda a: _command(a, {"op": "resolve", "winner": a.winner}))

    cf = subparsers.add_parser("clear-fault", help="let a node in fault serve again")
    cf.add_argument("--config", default=CONFIG_DEFAULT, help=CONFIG_HELP)
    cf.set_defaults(handler=lambda a: _command(a, {"op": "clear-fault"}))

    hi = subparsers.add_parser("history", help="role changes, epochs, plans, split-brains")
    hi.add_argument("--config", default=CONFIG_DEFAULT, help=CONFIG_HELP)
    hi.add_argument(
        "--since",
        default=None,
        help="ISO time (2026-12-01T21:00:00) or epoch seconds (default: the whole log)",
    )
    hi.add_argument("--json", action="store_true", help="one JSON document (default: text)")
    hi.set_defaults(handler=cmd_history)


def _config(path: str, command: str) -> AgentConfig | None:
    try:
        return load_config(path)
    except (ConfigFileError, ConfigValueError) as exc:
        print(f"hacore {command}: {exc}", file=sys.stderr)
        return None


def cmd_agent(args: argparse.Namespace) -> int:
    config = _config(args.config, "agent")
    if config is None:
        return 2
    try:
        secrets = load_secrets(config)
    except SecretFileError as exc:
        print(f"hacore agent: {exc}", file=sys.stderr)
        return 2
    from adapters.agent.runtime import Agent

    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        agent = Agent(config, secrets)
        try:
            await agent.start()
        except Exception as exc:
            agent.log.error("agent could not start", error=f"{type(exc).__name__}: {exc}")
            await agent.shutdown()
            return 1
        try:
            await agent.run(stop)
        except Exception as exc:
            agent.log.error("agent failed", error=f"{type(exc).__name__}: {exc}")
            return 1
        return 0

    loop = asyncio.new_event_loop()
    try:
        code = loop.run_until_complete(main())
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()  # does not wait for worker threads (asyncio.run would)
    if any(t.is_alive() for t in threading.enumerate() if t is not threading.main_thread()):
        # A port call still runs past its deadline: its outcome was already taken
        # as Uncertain and everything durable is committed, so stopping must not
        # wait for it (the interpreter would join the thread at exit).
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def _command(args: argparse.Namespace, message: dict[str, Any]) -> int:
    config = _config(args.config, message["op"])
    if config is None:
        return 2
    try:
        reply = request(config.operator.socket, message)
    except OperatorSocketError as exc:
        print(f"hacore {message['op']}: {exc}", file=sys.stderr)
        return 2
    if not reply.get("ok"):
        why = reply.get("error") or reply.get("rejected") or "the core decided nothing"
        print(f"hacore {message['op']}: refused: {why}", file=sys.stderr)
        return 1
    print(f"{message['op']}: accepted; role {reply.get('role_before')} -> {reply.get('role')}")
    return 0


def _since_us(text: str | None) -> int:
    if text is None:
        return 0
    try:
        return int(float(text) * 1e6)
    except ValueError:
        pass
    stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if stamp.tzinfo is None:
        return int(time.mktime(stamp.timetuple()) * 1e6)
    return int(stamp.timestamp() * 1e6)


def cmd_history(args: argparse.Namespace) -> int:
    from adapters.agent.history import entries, render

    config = _config(args.config, "history")
    if config is None:
        return 2
    try:
        since = _since_us(args.since)
    except ValueError:
        print(
            f"hacore history: --since {args.since!r}: not an ISO time or seconds", file=sys.stderr
        )
        return 2
    try:
        with SqliteStore.open(config.store.path, create=False, readonly=True) as store:
            rows = entries(store.messages(config.node), since)
    except (NotAStoreError, StorePathError, StoreError) as exc:
        print(f"hacore history: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        print(render(rows))
    return 0


def status_from_agent(config_path: str, as_json: bool) -> int:
    """``hacore status --config FILE``: the local agent's view, in the reference layout."""
    from adapters.agent.status_report import EXIT, render, report

    config = _config(config_path, "status")
    if config is None:
        return 2
    t0 = time.perf_counter()
    try:
        reply = request(config.operator.socket, {"op": "status"}, timeout=5.0)
    except OperatorSocketError as exc:
        print(f"hacore status: cannot tell: {exc}", file=sys.stderr)
        return 2
    if not reply.get("ok") or not isinstance(reply.get("status"), dict):
        print("hacore status: cannot tell: the agent gave no status", file=sys.stderr)
        return 2
    rep = report(reply["status"], time.perf_counter() - t0)
    print(json.dumps(rep, indent=1, sort_keys=True) if as_json else render(rep))
    return EXIT[rep["verdict"]]
