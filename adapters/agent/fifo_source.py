"""keepalived's notify_fifo as an asyncio source, through the existing ingest adapter.

The FIFO is created (mode 0600) if missing and refused if it is not a FIFO or
belongs to another user: whoever can write it can tell the agent it is
MASTER. It is opened read-write so that keepalived restarting (closing its
end) is not an end of file for us.
"""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Callable

from adapters.agent.ownership import not_ours
from adapters.keepalived.ingest import CoreInput, FifoIngest


class FifoSourceError(RuntimeError):
    pass


def open_fifo(path: str) -> int:
    if not os.path.lexists(path):
        os.mkfifo(path, 0o600)
    st = os.lstat(path)
    if not stat.S_ISFIFO(st.st_mode):
        raise FifoSourceError(f"notify_fifo {path}: not a FIFO")
    problem = not_ours(st)
    if problem:
        raise FifoSourceError(f"notify_fifo {path}: {problem}")
    return os.open(path, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOFOLLOW)


class FifoSource:
    def __init__(
        self,
        path: str,
        instance: str,
        clock_us: Callable[[], int],
        deliver: Callable[[CoreInput], None],
    ) -> None:
        self.path = path
        self.ingest = FifoIngest(instance)
        self._clock_us = clock_us
        self._deliver = deliver
        self._fd: int | None = None
        self.lines = 0

    def start(self) -> None:
        self._fd = open_fifo(self.path)
        asyncio.get_running_loop().add_reader(self._fd, self._readable)

    def _readable(self) -> None:
        assert self._fd is not None
        try:
            data = os.read(self._fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            return
        for item in self.ingest.feed(data, self._clock_us()):
            self.lines += 1
            self._deliver(item)

    def close(self) -> None:
        if self._fd is not None:
            asyncio.get_running_loop().remove_reader(self._fd)
            os.close(self._fd)
            self._fd = None
