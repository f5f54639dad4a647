"""Run a daemon's command-line tool with a time budget, never through a shell.

The child gets its own session so that, when the budget runs out, the whole
group (the tool and anything it forked) is killed, not only the parent: a
half-finished CLI left running could still change the daemon after we have
reported the operation as uncertain.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Finished:
    returncode: int
    stdout: bytes
    stderr: bytes


def run_bounded(argv: Sequence[str], *, timeout_s: float) -> Finished | None:
    """``argv`` run to completion within ``timeout_s``, or ``None`` when it ran
    over (its process group killed and reaped). The caller names the error."""
    proc = subprocess.Popen(  # noqa: S603 - argv list, never a shell
        list(argv),
        start_new_session=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.communicate()
        return None
    return Finished(proc.returncode, out, err)
