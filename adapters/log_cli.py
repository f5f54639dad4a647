"""``hacore log``: verify, show and replay event stores.

Exit codes (the CLI's convention): 0 success; 1 a check failed (a node log
does not verify, or re-deciding differs from what was recorded); 2 bad usage
or FILE is not a store.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from adapters.store import (
    ConfigDecodeError,
    NotAStoreError,
    SqliteStore,
    StoreError,
    StorePathError,
)
from hacore import codec
from hacore.codec import DecodeError
from hacore.context import Context
from hacore.log import ChainError, LogRecord, redecide, replay_records
from hacore.timefmt import seconds


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "log", help="verify, show and replay event stores", description=__doc__
    )
    sub = parser.add_subparsers(dest="log_command", metavar="SUBCOMMAND")

    def usage(_args: argparse.Namespace) -> int:
        parser.print_help(sys.stderr)
        return 2

    parser.set_defaults(handler=usage)

    verify = sub.add_parser("verify", help="check every node log's hash chain and sequence")
    verify.add_argument("file", help="the event store (SQLite)")
    verify.set_defaults(handler=cmd_verify)

    show = sub.add_parser(
        "show",
        help="print records as a table (times in seconds) or JSON lines (no verification)",
    )
    show.add_argument("file", help="the event store (SQLite)")
    show.add_argument("--node", help="only this node's log (default: every node)")
    show.add_argument(
        "--since", type=int, default=1, metavar="SEQ", help="from this seq on (default: 1)"
    )
    show.add_argument(
        "--json",
        action="store_true",
        help="one JSON object per line, times in microseconds as stored (default: a table)",
    )
    show.set_defaults(handler=cmd_show)

    replay = sub.add_parser(
        "replay", help="rebuild each node's state, re-decide every input, print a table"
    )
    replay.add_argument("file", help="the event store (SQLite)")
    replay.add_argument("--node", help="only this node's log (default: every node)")
    replay.set_defaults(handler=cmd_replay)


def _open(path: str, err: TextIO) -> SqliteStore | None:
    try:
        return SqliteStore.open(path, create=False, readonly=True, verify=False)
    except (NotAStoreError, StorePathError) as exc:
        print(f"hacore log: {exc}", file=err)
        return None
    except StoreError as exc:
        print(f"hacore log: {path}: {exc}", file=err)
        return None


def _nodes(store: SqliteStore, only: str | None, err: TextIO) -> list[str] | None:
    nodes = store.nodes()
    if only is None:
        return nodes
    if only not in nodes:
        print(f"hacore log: {store.path}: no log for node {only!r}", file=err)
        return None
    return [only]


def _describe(exc: ChainError) -> str:
    kind = "torn tail" if type(exc).__name__ == "TornTailError" else "corrupt"
    return f"node {exc.node}: first bad seq {exc.seq} ({kind}): {exc.reason}"


def cmd_verify(
    args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    store = _open(args.file, err)
    if store is None:
        return 2
    with store:
        try:
            damage = store.integrity_problems()
            results = store.check()
        except StoreError as exc:  # damaged below the records (SQLite, text, types)
            print(f"FAIL {exc}", file=out)
            return 1
        if damage:
            print(f"FAIL {args.file}: SQLite integrity check: {'; '.join(damage)[:500]}", file=out)
            return 1
        failed = 0
        for node, result in results.items():
            if isinstance(result, ChainError):
                failed += 1
                print(f"FAIL {_describe(result)}", file=out)
            else:
                print(f"ok   node {node}: {result} records", file=out)
        total = len(results)
        print(f"{args.file}: {total - failed} of {total} node logs verify", file=out)
        config_problem = _config_problem(store)
        if config_problem is not None:
            print(f"FAIL {config_problem}", file=out)
            return 1
        return 1 if failed else 0


def _config_problem(store: SqliteStore) -> str | None:
    """What is wrong with the store's ``meta`` beyond the logs: the stored cluster
    configuration (replay re-decides with it), or a key this store never writes."""
    try:
        keys = store.meta_keys()
        _ = store.config  # decoded and validated (ConfigDecodeError is a StoreError)
    except StoreError as exc:
        return f"stored cluster configuration: {exc}"
    unknown = sorted(keys - {"format", "schema", "config"}, key=repr)
    if unknown:
        return f"meta holds key(s) this store never writes: {unknown!r}"[:300]
    return None


def _record_json(r: LogRecord) -> str:
    try:
        payload: Any = codec.parse_json(r.payload)
    except codec.JsonError:
        payload = r.payload
    return json.dumps(
        {
            "node": r.node,
            "seq": r.seq,
            "epoch": r.epoch,
            "at": r.at,
            "kind": r.kind,
            "type": r.type,
            "v": r.v,
            "payload": payload,
            "hash": r.hash,
        },
        sort_keys=True,
        separators=(",", ":"),
    )


def cmd_show(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    store = _open(args.file, err)
    if store is None:
        return 2
    with store:
        try:
            return _show(store, args, out, err)
        except StoreError as exc:  # damaged below the records: a failed check
            print(f"hacore log: {exc}", file=err)
            return 1


def _show(store: SqliteStore, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    nodes = _nodes(store, args.node, err)
    if nodes is None:
        return 2
    try:
        if not args.json:
            print(
                f"{'node':<12} {'seq':>6} {'epoch':>5} {'at':>16} {'kind':<5} {'type':<22} payload",
                file=out,
            )
        for node in nodes:
            for r in store.records(node, args.since):
                if args.json:
                    print(_record_json(r), file=out)
                else:
                    print(
                        f"{r.node:<12} {r.seq:>6} {r.epoch:>5} {seconds(r.at):>16} {r.kind:<5} "
                        f"{r.type + ('' if r.v == 1 else f'/v{r.v}'):<22} {r.payload}",
                        file=out,
                    )
    except BrokenPipeError:  # `hacore log show | head`
        return 0
    except StoreError as exc:
        print(f"hacore log: {exc}", file=err)
        return 1
    return 0


def _table(rows: Sequence[Sequence[str]]) -> str:
    header = ("Node", "Records", "Role", "Epoch", "VRRP", "Plan", "Re-decide")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def line(cells: Sequence[str]) -> str:
        return "|" + "|".join(f" {c:<{w}} " for c, w in zip(cells, widths, strict=True)) + "|"

    body = [rule, line(header), rule]
    for row in rows:
        body += [line(row), rule]
    return "\n".join(body)


def cmd_replay(
    args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    store = _open(args.file, err)
    if store is None:
        return 2
    with store:
        try:
            return _replay(store, args, out, err)
        except StoreError as exc:  # damaged below the records: a failed check
            print(f"hacore log: {exc}", file=err)
            return 1


def _replay(store: SqliteStore, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    nodes = _nodes(store, args.node, err)
    if nodes is None:
        return 2
    try:
        config = store.config
    except ConfigDecodeError as exc:
        print(f"hacore log: {exc}", file=err)
        return 2
    if config is None:
        print(
            f"hacore log: {args.file}: the store holds no cluster configuration; cannot re-decide",
            file=err,
        )
        return 2
    rows: list[tuple[str, ...]] = []
    details: list[str] = []
    failed = False
    for node in nodes:
        try:
            count = store.verify_node(node)
            # Only the verified prefix: a live writer may have appended since.
            # Two streaming passes (read page by page), never the whole log in
            # memory: a store of millions of records replays in constant memory.
            state = replay_records(node, itertools.islice(store.upcast_records(node), count))
            mismatches = redecide(
                Context(config, node), itertools.islice(store.upcast_records(node), count)
            )
        except ChainError as exc:
            failed = True
            rows.append((node, "-", "-", "-", "-", "-", "log does not verify"))
            details.append(f"FAIL {_describe(exc)}")
            continue
        except (DecodeError, KeyError, StoreError) as exc:
            failed = True
            rows.append((node, "-", "-", "-", "-", "-", "cannot replay"))
            details.append(f"FAIL node {node}: {exc}")
            continue
        plan = "-" if state.plan is None else f"{state.plan.kind}@{state.plan.current_step}"
        verdict = "ok" if not mismatches else f"{len(mismatches)} mismatch(es)"
        rows.append(
            (
                node,
                str(count),
                str(state.role),
                str(state.epoch),
                str(state.vrrp),
                plan,
                verdict,
            )
        )
        for m in mismatches:
            failed = True
            details.append(f"MISMATCH node {node}: input seq {m.seq}")
            details.append(f"  recorded: {list(m.expected)}")
            details.append(f"  now:      {list(m.actual)}")
    print(_table(rows), file=out)
    for line in details:
        print(line, file=out)
    return 1 if failed else 0
