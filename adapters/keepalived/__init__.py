"""keepalived adapter: render keepalived.conf, parse notify_fifo lines and status dumps."""

from adapters.keepalived.config import (
    ConfigError,
    KeepalivedConfig,
    TrackFile,
    TrackInterface,
    TrackScript,
    VrrpInstanceSpec,
    parse_advert_int,
)
from adapters.keepalived.fifo import (
    FifoReader,
    FifoRecord,
    LineKind,
    MalformedLine,
    parse_line,
    parse_lines,
)

__all__ = [
    "ConfigError",
    "FifoReader",
    "FifoRecord",
    "KeepalivedConfig",
    "LineKind",
    "MalformedLine",
    "TrackFile",
    "TrackInterface",
    "TrackScript",
    "VrrpInstanceSpec",
    "parse_advert_int",
    "parse_line",
    "parse_lines",
]
