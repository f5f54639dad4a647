"""Run the gluster CLI: ``--mode=script``, ``--xml``, a budget, no shell.

``launcher`` is an argv prefix that places the CLI next to its glusterd (the
lab's ``nsenter --net=… --mount=…``). The exit code is not trusted: the
answer's ``opRet`` is (cli_xml.parse_document).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

from adapters.bounded_command import run_bounded
from adapters.gluster.cli_xml import parse_document
from adapters.gluster.errors import GlusterError


class GlusterTimeout(GlusterError):
    """The CLI did not answer within its budget (killed): the operation may have happened."""


@dataclass(frozen=True, slots=True)
class GlusterCli:
    launcher: tuple[str, ...] = ()
    binary: str = "gluster"

    def xml(self, args: Sequence[str], *, timeout_s: float) -> str:
        """The CLI's XML answer to ``args`` (checked for opRet by the parsers)."""
        return self._call([*args, "--xml"], timeout_s=timeout_s)[1]

    def plain(self, args: Sequence[str], *, timeout_s: float) -> tuple[int, str, str]:
        """Exit code, stdout, stderr: for commands without an XML answer
        (``volume heal VOL`` prints text even with --xml on 10.3)."""
        return self._call(args, timeout_s=timeout_s)

    def _call(self, args: Sequence[str], *, timeout_s: float) -> tuple[int, str, str]:
        if timeout_s <= 0:
            raise GlusterTimeout(f"gluster {' '.join(args[:2])}: no time left")
        argv = [*self.launcher, self.binary, "--mode=script", *args]
        finished = run_bounded(argv, timeout_s=timeout_s)
        if finished is None:
            raise GlusterTimeout(
                f"gluster {' '.join(args[:3])}: no answer within {timeout_s:.1f} s"
            )
        out, err = finished.stdout, finished.stderr
        return finished.returncode, out.decode(errors="replace"), err.decode(errors="replace")

    def run(self, args: Sequence[str], *, timeout_s: float) -> ET.Element:
        """Run an operation; its ``<cliOutput>`` once opRet is 0 (else GlusterOpError)."""
        return parse_document(self.xml(args, timeout_s=timeout_s), f"gluster {' '.join(args[:3])}")
