"""Run a command with a per-node directory bound over /tmp (standard library only).

Started as ``ip netns exec NS python -I -S launch.py DIR GATE -- ARGV...``: ``ip
netns exec`` gives this process a private mount namespace, so the bind mount
is seen by this node's daemon only. keepalived writes its data/JSON dumps to
fixed names in /tmp; with the bind, each node's dumps land in its own DIR.
Unless GATE is ``-`` it then waits for the file GATE to exist (so that a
lab starts all nodes at once). The process then execs ARGV (same PID, so
the caller's PID is the daemon's).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time


def main(argv: list[str]) -> int:
    if len(argv) < 4 or argv[2] != "--":
        sys.stderr.write("usage: launch.py DIR GATE|- -- ARGV...\n")
        return 2
    directory, gate, command = argv[0], argv[1], argv[3:]
    subprocess.run(["mount", "--bind", directory, "/tmp"], check=True)  # noqa: S603
    if gate != "-":
        # A start gate: several nodes exec their daemon at (nearly) the same moment.
        with open(os.path.join(directory, "launcher.ready"), "w"):
            pass
        deadline = time.monotonic() + 30
        while not os.path.exists(gate) and time.monotonic() < deadline:
            time.sleep(0.001)
    os.execvp(command[0], command)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
