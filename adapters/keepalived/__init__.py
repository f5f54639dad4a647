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
from adapters.keepalived.ingest import CoreInput, FifoIngest, to_core_input

__all__ = [
    "ConfigError",
    "CoreInput",
    "FifoIngest",
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
    "to_core_input",
]
