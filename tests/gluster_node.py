"""One real glusterd in its own network + mount namespace, for tests (root).

The namespace is ``hcg<6 hex>`` (unique per run) with the node's address on
its lo; glusterd gets its own /var/lib/glusterd, /run and log directory by
bind mounts inside a private mount namespace, so nothing touches the host's.
Teardown: volumes stopped and deleted, glusterd stopped by PID, every
process still in the namespace (bricks outlive glusterd) killed by PID,
namespace deleted, directories removed.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from adapters.gluster.cli import GlusterCli, GlusterTimeout

_LAUNCH = """
import os, subprocess, sys
lib, run, log = sys.argv[1:4]
for src, dst in ((lib, "/var/lib/glusterd"), (run, "/run"), (log, "/var/log/glusterfs")):
    subprocess.run(["mount", "--bind", src, dst], check=True)
os.execvp("glusterd", ["glusterd", "-N", "--log-file=" + log + "/glusterd.log"])
"""


class GlusterNode:
    address = "10.250.11.1"

    def __init__(self) -> None:
        self.ns = "hcg" + secrets.token_hex(3)
        self.root = Path(tempfile.mkdtemp(prefix=f"hacore-{self.ns}-"))
        for d in ("lib", "run", "log", "bricks"):
            (self.root / d).mkdir()
        subprocess.run(  # noqa: S603 - fixed argv
            ["ip", "netns", "add", self.ns], check=True
        )
        subprocess.run(  # noqa: S603 - fixed argv
            ["ip", "-n", self.ns, "link", "set", "lo", "up"], check=True
        )
        subprocess.run(  # noqa: S603 - fixed argv
            ["ip", "-n", self.ns, "addr", "add", f"{self.address}/32", "dev", "lo"], check=True
        )
        self.proc = subprocess.Popen(  # noqa: S603 - argv list
            [
                "ip",
                "netns",
                "exec",
                self.ns,
                "unshare",
                "-m",
                sys.executable,
                "-c",
                _LAUNCH,
                *(str(self.root / d) for d in ("lib", "run", "log")),
            ],
            start_new_session=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        pid = self.proc.pid
        self.cli = GlusterCli(
            launcher=("nsenter", f"--net=/proc/{pid}/ns/net", f"--mount=/proc/{pid}/ns/mnt", "--")
        )
        self.volumes: list[str] = []
        self.mounts: list[Path] = []
        try:
            self._wait_ready(pid)
        except BaseException:
            self.close()
            raise

    def _wait_ready(self, pid: int) -> None:
        # Until the launcher has exec'd glusterd, /proc/PID/ns/mnt is not its namespace.
        end = time.monotonic() + 60  # generous: a loaded 2-core machine
        while time.monotonic() < end:
            try:
                comm = Path(f"/proc/{pid}/comm").read_text().strip()
            except OSError:
                raise RuntimeError("glusterd's launcher exited") from None
            if comm == "glusterd":
                try:
                    if "<opRet>0</opRet>" in self.cli.xml(["pool", "list"], timeout_s=5):
                        return
                except GlusterTimeout:
                    pass
            time.sleep(0.1)
        raise RuntimeError("glusterd did not answer within 60 s")

    def brick(self, name: str) -> str:
        return f"{self.address}:{self.root / 'bricks' / name}"

    def mount(self, volume: str) -> Path:
        """A FUSE mount of ``volume`` inside the node's namespaces."""
        where = self.root / f"mnt-{volume}"
        where.mkdir()
        subprocess.run(  # noqa: S603 - fixed argv
            [
                *self.cli.launcher,
                "mount",
                "-t",
                "glusterfs",
                f"{self.address}:/{volume}",
                str(where),
            ],
            check=True,
            timeout=30,
        )
        self.mounts.append(where)
        return where

    def run_inside(self, *argv: str) -> None:
        subprocess.run([*self.cli.launcher, *argv], check=True, timeout=30)  # noqa: S603

    def replica_volume(self, name: str, *, self_heal: bool = False) -> None:
        self.cli.run(
            ["volume", "create", name, "replica", "2", self.brick("b1"), self.brick("b2"), "force"],
            timeout_s=30,
        )
        self.volumes.append(name)
        if not self_heal:
            self.cli.run(["volume", "set", name, "cluster.self-heal-daemon", "off"], timeout_s=30)
        self.cli.run(["volume", "start", name], timeout_s=30)

    def _ns_pids(self) -> list[int]:
        out = subprocess.run(  # noqa: S603 - fixed argv
            ["ip", "netns", "pids", self.ns], capture_output=True, text=True, check=False
        ).stdout
        return [int(p) for p in out.split()]

    def close(self) -> None:
        for where in self.mounts:
            subprocess.run(  # noqa: S603 - fixed argv
                [*self.cli.launcher, "umount", "-l", str(where)], check=False, timeout=30
            )
        for vol in self.volumes:
            for args in (["volume", "stop", vol, "force"], ["volume", "delete", vol]):
                try:
                    self.cli.xml(args, timeout_s=20)
                except Exception:
                    pass
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        for pid in self._ns_pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        end = time.monotonic() + 5
        while self._ns_pids() and time.monotonic() < end:
            time.sleep(0.05)
        subprocess.run(  # noqa: S603 - fixed argv
            ["ip", "netns", "del", self.ns], check=False
        )
        shutil.rmtree(self.root, ignore_errors=True)
