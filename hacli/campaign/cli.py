"""``hacore campaign run`` and ``hacore campaign report``.

Exit codes: 0 nothing found (run) or report written; 1 the campaign has a
failure, or some shards were lost (they are redone by the next run); 2 bad
arguments, campaign file, output directory or cluster address.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from hacli.campaign.config import CampaignConfigError, load_campaign
from hacli.campaign.executors import DaskEngine, EngineError, Executor, LocalProcesses
from hacli.campaign.store import CampaignStore, OutputDirError


def register(subparsers: Any) -> None:
    camp = subparsers.add_parser(
        "campaign",
        help="fuzz campaigns over a matrix of configurations, locally or on a Dask cluster",
        description="Run the fuzzer's shards over a matrix of configurations, resumably, "
        "on local processes or a Dask cluster; report what they found (docs/campaign.md).",
    )
    sub = camp.add_subparsers(dest="campaign_command", metavar="SUBCOMMAND")
    run = sub.add_parser("run", help="run or resume a campaign")
    run.add_argument(
        "--config", required=True, metavar="CAMPAIGN.toml", help="the campaign's matrix (TOML)"
    )
    run.add_argument(
        "--cluster",
        default=None,
        metavar="ADDRESS",
        help="Dask scheduler address (default: local processes)",
    )
    run.add_argument("--out", default="campaign-out", metavar="DIR", help="output directory")
    run.add_argument(
        "--connect-timeout",
        type=float,
        default=20.0,
        metavar="SECONDS",
        help="how long to try reaching the --cluster scheduler (default 20)",
    )
    run.add_argument(
        "--workers", type=int, default=None, help="local worker processes (default: the file's)"
    )
    run.add_argument(
        "--preload",
        action="append",
        default=[],
        metavar="MODULE",
        help="a module each local worker imports first, calling its campaign_setup() if any"
        " (plugins; the tests plant the fuzz canary this way); repeatable (default: none)",
    )
    run.set_defaults(handler=cmd_run)
    rep = sub.add_parser("report", help="write OUT/report.html and OUT/report.json")
    rep.add_argument("out", metavar="DIR", help="the campaign's output directory")
    rep.set_defaults(handler=cmd_report)
    camp.set_defaults(handler=lambda _args: _usage(camp))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _err(message: str) -> int:
    print(f"hacore campaign: error: {message}", file=sys.stderr)
    return 2


def cmd_run(args: argparse.Namespace) -> int:
    from hacli.campaign.runner import ProgressBar, run_campaign

    try:
        campaign = load_campaign(args.config)
    except CampaignConfigError as exc:
        return _err(f"{args.config}: {exc}")
    if args.workers is not None and not 1 <= args.workers <= 1024:
        return _err("--workers must be between 1 and 1024")
    if not 0 < args.connect_timeout <= 3600:
        return _err("--connect-timeout must be between 0 and 3600 seconds")
    store = CampaignStore(args.out)
    try:
        store.create()
        with open(args.config, encoding="utf-8") as fh:
            store.save_campaign_file(fh.read())
        already = len(store.done())
    except (OutputDirError, OSError) as exc:
        return _err(str(exc))
    database = campaign.database or store.database_dir
    hard_timeout = 2 * campaign.shard_wall_s + 60
    executor: Executor
    try:
        if args.cluster is None:
            workers = args.workers or campaign.workers or os.cpu_count() or 1
            executor = LocalProcesses(
                workers, database, hard_timeout_s=hard_timeout, preload=tuple(args.preload)
            )
            where = f"{workers} local worker processes"
        else:
            executor = DaskEngine(
                args.cluster,
                database,
                hard_timeout_s=hard_timeout,
                connect_timeout_s=args.connect_timeout,
            )
            where = f"the Dask cluster at {args.cluster} ({executor.slots()} worker threads)"
    except EngineError as exc:
        return _err(str(exc))
    total = "until the wall budget ends" if campaign.total_shards is None else campaign.total_shards
    print(
        f"campaign: {len(campaign.configurations)} configurations, {total} shards of"
        f" {campaign.shard_examples} schedules, on {where}; {already} shards already done"
        f" in {store.out}",
        file=sys.stderr,
    )
    bar = ProgressBar()
    try:
        progress = run_campaign(campaign, store, executor, on_progress=bar)
    except (OutputDirError, EngineError) as exc:
        return _err(str(exc))
    except KeyboardInterrupt:
        bar.close()
        print("campaign: interrupted; run the same command again to resume", file=sys.stderr)
        return 1
    finally:
        executor.close()
    bar.close()
    for line in progress.lost:
        print(f"campaign: shard lost (redone on the next run): {line}", file=sys.stderr)
    print(
        f"{progress.done} shards run now ({progress.already_done} before), {progress.schedules}"
        f" schedules in {progress.elapsed_s:.1f} s; {progress.distinct_failures} distinct"
        f" failures in {store.out}/failures (`hacore campaign report {args.out}`)"
    )
    return 1 if progress.distinct_failures or progress.lost else 0


def cmd_report(args: argparse.Namespace) -> int:
    from hacli.campaign.report import write_report

    store = CampaignStore(args.out)
    if not store.exists():
        return _err(f"{args.out}: not a campaign output directory (no shards/)")
    try:
        html, js = write_report(store)
    except (OutputDirError, OSError) as exc:
        return _err(str(exc))
    print(f"wrote {html} and {js}")
    return 0
