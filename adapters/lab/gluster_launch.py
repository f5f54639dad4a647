"""Start glusterd with its own state directories (standard library only).

Started as ``ip netns exec NS python -I -S gluster_launch.py DIR``: ``ip netns
exec`` gives this process a private mount namespace, where DIR's ``lib``,
``run`` and ``log`` are bound over ``/var/lib/glusterd``, ``/run`` (its
control socket is /run/glusterd.socket: one a node) and
``/var/log/glusterfs``; the host's are untouched. Then it execs
``glusterd -N`` (same PID: the caller's PID is glusterd's, and every brick,
self-heal daemon and FUSE client it starts shares its namespaces).
"""

from __future__ import annotations

import os
import subprocess
import sys

TARGETS = (("lib", "/var/lib/glusterd"), ("run", "/run"), ("log", "/var/log/glusterfs"))


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        sys.stderr.write("usage: gluster_launch.py DIR\n")
        return 2
    directory = argv[0]
    for name, target in TARGETS:
        os.makedirs(target, exist_ok=True)
        subprocess.run(["mount", "--bind", os.path.join(directory, name), target], check=True)  # noqa: S603
    log = os.path.join("/var/log/glusterfs", "glusterd.log")
    os.execvp("glusterd", ["glusterd", "-N", f"--log-file={log}"])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
