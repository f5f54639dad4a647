"""The CLI's contract, held for every command at once.

* No command prints a traceback on any input: every subcommand is run with
  bad arguments, in this process and in a child that runs as ``nobody``
  (privileges dropped after the imports, so the child needs no read access to
  the source tree), and must end in one of the documented exit codes with a
  message and no traceback, never reaching the dispatcher's "internal error".
* One exit-code rule: bad usage or input is 2.
* ``--help`` is plain text and every option has a help line that shows its
  default; ``hacore --version`` prints the version.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from io import StringIO
from pathlib import Path

import pytest

from hacli.help import PlainHelpFormatter, walk
from hacli.main import build_parser, main

NOBODY = 65534
MISSING = "/nonexistent/hacore-test/x"

# Bad input for every command, each expected to exit 2 (as root and not).
BAD: list[list[str]] = [
    [],
    ["no-such-command"],
    ["--bogus"],
    ["simulate"],
    ["simulate", "no-such-scenario"],
    ["simulate", "partition-heal", "--nodes", "1"],
    ["simulate", "partition-heal", "--nodes", "x"],
    ["simulate", "partition-heal", "--seed", "x"],
    ["simulate", "partition-heal", "--duration", "soon"],
    ["simulate", "--schedule", "nonsense"],
    ["simulate", "--schedule", "20s:explode:n1"],
    ["simulate", "partition-heal", "--timeline", MISSING + ".svg"],
    ["simulate", "partition-heal", "--timeline", "x.png"],
    ["simulate", "partition-heal", "--log", MISSING + ".db"],
    ["simulate", "partition-heal", "--policy", "coin-toss"],
    ["simulate", "partition-heal", "--compare-policies", "--mode", "safety-first"],
    ["simulate", "partition-heal", "--compare-policies", "--timeline", MISSING + ".svg"],
    ["scenarios", "extra"],
    ["fuzz", "--examples", "0"],
    ["fuzz", "--nodes", "10"],
    ["fuzz", "--jobs", "0"],
    ["fuzz", "--nodes", "x"],
    ["log"],
    ["log", "verify"],
    ["log", "verify", MISSING],
    ["log", "show", "/etc/hostname"],
    ["log", "show", MISSING, "--since", "x"],
    ["log", "replay", "/dev/null"],
    ["lab"],
    ["lab", "up", "--nodes", "0"],
    ["lab", "up", "--gluster", "--nodes", "1", "--state-dir", MISSING],
    ["lab", "up", "--state-dir", MISSING],
    ["lab", "up", "--name=a/b"],
    ["lab", "status", "--name", "a b"],
    ["lab", "status", "--state-dir", MISSING],
    ["lab", "partition", "n1", "--state-dir", MISSING],
    ["lab", "isolate", "n1", "--state-dir", MISSING],
    ["lab", "heal", "--state-dir", MISSING],
    ["lab", "loss", "n1", "lots", "--state-dir", MISSING],
    ["lab", "kill", "n1", "--state-dir", MISSING],
    ["lab", "restart", "n1", "--state-dir", MISSING],
    ["lab", "down", "--state-dir", MISSING],
    ["lab", "down", "--name=.."],
    ["notify"],
    ["notify", "INSTANCE", "VI_1", "BOGUS", "100"],
    ["notify", "INSTANCE", "VI_1", "MASTER", "100", "--record", MISSING],
    ["status"],
    ["status", "--store", MISSING],
    ["status", "--store", "/etc/hostname"],
    ["config"],
    ["agent"],
    ["agent", "--config", MISSING],
    ["switchover", "--config", MISSING],
    ["resolve"],
    ["resolve", "--winner", "n1", "--config", MISSING],
    ["clear-fault", "--config", MISSING],
    ["history", "--config", MISSING],
    ["history", "--since", "someday", "--config", MISSING],
    ["status", "--config", MISSING],
    ["campaign"],
    ["campaign", "run"],
    ["campaign", "run", "--config", MISSING],
    ["campaign", "run", "--config", "/etc/hostname"],
    ["campaign", "report", MISSING],
]
# A check that finds its input invalid fails the check: exit 1.
CHECKS: list[list[str]] = [
    ["config", "check", MISSING],
    ["config", "check", "/etc/hostname"],
    ["config", "keepalived", MISSING],
]


def _commands() -> set[str]:
    """Every command path of the parser tree, e.g. "hacore lab down"."""
    return {prog for prog, _p in walk(build_parser())}


def test_every_command_is_exercised_with_bad_input() -> None:
    covered = {"hacore"}
    for argv in [*BAD, *CHECKS]:
        words = ["hacore"]
        for word in argv:
            if word.startswith("-"):
                break
            words.append(word)
            if " ".join(words) in _commands():
                covered.add(" ".join(words))
    assert _commands() - covered == set()


def _run_in_process(argv: list[str]) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(
    ("argv", "expected"),
    [(a, 2) for a in BAD] + [(a, 1) for a in CHECKS],
    ids=lambda a: " ".join(a) if isinstance(a, list) else str(a),
)
def test_bad_input_exits_with_its_code_a_message_and_no_traceback(
    argv: list[str], expected: int
) -> None:
    if argv[:1] == ["lab"] and os.geteuid() != 0:
        pytest.skip("as a user the lab refuses on root first; the nobody test covers that")
    code, _out, err = _run_in_process(argv)
    assert "Traceback" not in err and "internal error" not in err, err
    assert code == expected, (argv, code, err)
    assert err.strip(), "a refusal says why"


# The child: import everything while still able to read the tree, become
# nobody, run each argv through the dispatcher, report codes and stderr.
DRIVER = """
import contextlib, importlib, io, json, os, pkgutil, sys
for top in ("hacore", "sims", "adapters", "hacli"):
    pkg = importlib.import_module(top)
    for info in pkgutil.walk_packages(pkg.__path__, top + "."):
        importlib.import_module(info.name)
from hacli.main import main
if os.geteuid() == 0:
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)
os.environ["HOME"] = "/nonexistent"
os.environ["HACORE_AGENT_SOCKET"] = "/nonexistent/agent.sock"
results = []
for argv in json.loads(sys.argv[1]):
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    except BaseException as exc:  # escaped the dispatcher: the test fails on it
        code = "escaped " + type(exc).__name__ + ": " + str(exc)
    results.append([argv, code, err.getvalue()])
print(json.dumps(results))
""".replace("NOBODY", str(NOBODY))

AS_NOBODY_TOO: list[list[str]] = [
    ["lab", "down"],
    ["lab", "kill", "n1"],
    ["lab", "up", "--nodes", "2"],
    ["lab", "status"],
    ["lab", "partition", "n1|n2"],
    ["lab", "heal"],
    ["notify", "INSTANCE", "VI_1", "MASTER", "100", "--record", MISSING],
    ["log", "verify", "/root/no-access.db"],
    ["simulate", "partition-heal", "--timeline", "/root/t.svg"],
]


def test_as_nobody_every_command_refuses_in_one_line_without_a_traceback() -> None:
    argvs = [*BAD, *CHECKS, *AS_NOBODY_TOO]
    proc = subprocess.run(  # noqa: S603 - fixed argv, no shell
        [sys.executable, "-B", "-c", DRIVER, json.dumps(argvs)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd="/",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(proc.stdout)
    assert len(results) == len(argvs)
    for argv, code, err in results:
        assert "Traceback" not in err and "internal error" not in err, (argv, err)
        assert code in (1, 2), (argv, code, err)
        assert err.strip(), argv
        if argv[:1] == ["lab"] and "--name" not in " ".join(argv):
            if not any(a in argv for a in ("0", "lots")) and argv != ["lab"]:
                assert "needs root" in err, (argv, err)
    by_argv = {tuple(a): (c, e) for a, c, e in results}
    assert by_argv[("lab", "down")][0] == 2
    assert by_argv[("lab", "kill", "n1")][0] == 2


def _option_actions() -> list[tuple[str, argparse.Action]]:
    out = []
    for prog, parser in walk(build_parser()):
        for action in parser._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            if isinstance(action, argparse._VersionAction):
                continue
            out.append((prog, action))
    return out


def test_every_option_has_a_help_line_that_shows_its_default() -> None:
    formatter = PlainHelpFormatter("hacore")
    missing = []
    for prog, action in _option_actions():
        name = "/".join(action.option_strings) or action.dest
        help_text = formatter._get_help_string(action) or ""
        if not help_text.strip():
            missing.append(f"{prog} {name}: no help")
        elif action.option_strings and not action.required and "default" not in help_text:
            missing.append(f"{prog} {name}: no default in {help_text!r}")
    assert missing == []


def test_help_is_plain_text() -> None:
    for prog, parser in walk(build_parser()):
        text = parser.format_help()
        for markup in ("``", ":mod:", ":class:", ":func:", ":meth:", "`", "**"):
            assert markup not in text, (prog, markup)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("hacore ") and out.split()[1][0].isdigit()


def test_a_command_in_a_real_process_never_traces_back(tmp_path: Path) -> None:
    """The installed entry point, as a person runs it (not only main())."""
    hacore = Path(sys.executable).parent / "hacore"
    proc = subprocess.run(  # noqa: S603
        [str(hacore), "simulate", "partition-heal", "--nodes", "99"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "2..9" in proc.stderr


@pytest.mark.parametrize("command", ["simulate", "fuzz"])
def test_simulate_and_fuzz_share_one_node_range_and_name_the_bad_value(command: str) -> None:
    for bad in ("1", "10"):
        code, _out, err = _run_in_process([command, "--nodes", bad])
        assert code == 2
        assert f"argument --nodes: must be 2..9, got {bad}" in err
        assert "--examples" not in err.split("error:", 1)[1]  # one message per bad value
    for good in ("2", "9"):
        argv = (
            ["simulate", "partition-heal", "--nodes", good, "--duration", "60s", "--json"]
            if command == "simulate"
            else ["fuzz", "--nodes", good, "--examples", "1", "--json"]
        )
        code, out, err = _run_in_process(argv)
        assert code in (0, 1) and json.loads(out), err
