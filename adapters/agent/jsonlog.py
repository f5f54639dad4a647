"""Structured logs: one JSON object per line on stderr.

Every line has ``time`` (ISO 8601, UTC), ``level``, ``node``, ``epoch``,
``role``, ``plan``, ``step`` and ``msg``; extra fields follow. The context
(epoch, role, plan, step) is read from the agent at the moment of logging,
so a line always says what the node was when it happened. Values are never
secrets: the agent holds its keys as :class:`adapters.agent.secret_files.Secret`,
whose text is ``<secret from FILE>``, and nothing here formats a config file.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}


def iso_time(us: int) -> str:
    seconds, micro = divmod(us, 1_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{micro:06d}Z"


class JsonLog:
    def __init__(
        self,
        node: str,
        context: Callable[[], dict[str, Any]],
        *,
        level: str = "info",
        stream: TextIO | None = None,
        clock_us: Callable[[], int] = lambda: time.time_ns() // 1000,
    ) -> None:
        self.node = node
        self._context = context
        self._min = LEVELS[level]
        self._stream = stream if stream is not None else sys.stderr
        self._clock_us = clock_us

    def log(self, level: str, msg: str, **fields: Any) -> None:
        if LEVELS[level] < self._min:
            return
        line: dict[str, Any] = {"time": iso_time(self._clock_us()), "level": level}
        line["node"] = self.node
        line.update(self._context())
        line["msg"] = msg
        for key, value in fields.items():
            line.setdefault(key, value)
        try:
            self._stream.write(json.dumps(line, default=str, sort_keys=False) + "\n")
            self._stream.flush()
        except (OSError, ValueError):
            pass  # a closed stderr must not stop the agent

    def debug(self, msg: str, **fields: Any) -> None:
        self.log("debug", msg, **fields)

    def info(self, msg: str, **fields: Any) -> None:
        self.log("info", msg, **fields)

    def warning(self, msg: str, **fields: Any) -> None:
        self.log("warning", msg, **fields)

    def error(self, msg: str, **fields: Any) -> None:
        self.log("error", msg, **fields)
