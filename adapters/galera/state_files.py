"""Strict parsers of Galera's saved state: ``grastate.dat`` and the recovered position.

``grastate.dat`` (Galera 4) is a comment line and four ``key: value`` lines::

    # GALERA saved state
    version: 2.1
    uuid:    8bd8c5a0-a1f5-11ee-8b6e-2f0e1c6a8f21
    seqno:   -1
    safe_to_bootstrap: 0

``mariadbd --wsrep-recover`` writes ``WSREP: Recovered position: UUID:SEQNO`` to
the error log; the last such line is the answer (an older run's lines stay in
the file). Anything else (an unknown or repeated key, a bad uuid or number, a
truncated file) is a :class:`StateFileError` naming the file and line: a
bootstrap decision must never rest on a guess.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from adapters.galera.errors import StateFileError

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
NIL_UUID = "00000000-0000-0000-0000-000000000000"
_KEYS = ("version", "uuid", "seqno", "safe_to_bootstrap")
_RECOVERED = "WSREP: Recovered position:"


@dataclass(frozen=True, slots=True)
class Position:
    """A Galera position. seqno -1 (or the nil uuid) means not known."""

    uuid: str
    seqno: int

    @property
    def known(self) -> bool:
        return self.seqno >= 0 and self.uuid != NIL_UUID

    def __str__(self) -> str:
        return f"{self.uuid}:{self.seqno}"


@dataclass(frozen=True, slots=True)
class Grastate:
    version: str
    uuid: str
    seqno: int
    safe_to_bootstrap: bool

    @property
    def position(self) -> Position:
        return Position(self.uuid, self.seqno)


def _seqno(text: str, path: Path | str, line: int) -> int:
    if not re.fullmatch(r"-?[0-9]{1,19}", text):
        raise StateFileError(path, line, f"seqno {text!r} is not an integer")
    value = int(text)
    if value < -1:
        raise StateFileError(path, line, f"seqno {value} is below -1")
    return value


def _uuid(text: str, path: Path | str, line: int) -> str:
    if not UUID_RE.match(text):
        raise StateFileError(path, line, f"uuid {text!r} is not a UUID")
    return text


def parse_grastate(text: str, path: Path | str = "grastate.dat") -> Grastate:
    values: dict[str, tuple[str, int]] = {}
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if not sep or not value:
            raise StateFileError(path, number, f"expected 'key: value', got {raw!r}")
        if key not in _KEYS:
            raise StateFileError(path, number, f"unknown key {key!r}")
        if key in values:
            raise StateFileError(
                path, number, f"{key} given twice (first on line {values[key][1]})"
            )
        values[key] = (value, number)
    missing = [k for k in _KEYS if k not in values]
    if missing:
        where = len(lines) if lines else None
        raise StateFileError(path, where, f"truncated: no {', '.join(missing)}")
    version, vline = values["version"]
    if not re.fullmatch(r"[0-9]+\.[0-9]+", version):
        raise StateFileError(path, vline, f"version {version!r} is not N.M")
    safe, sline = values["safe_to_bootstrap"]
    if safe not in ("0", "1"):
        raise StateFileError(path, sline, f"safe_to_bootstrap {safe!r} is not 0 or 1")
    return Grastate(
        version=version,
        uuid=_uuid(values["uuid"][0], path, values["uuid"][1]),
        seqno=_seqno(values["seqno"][0], path, values["seqno"][1]),
        safe_to_bootstrap=safe == "1",
    )


def read_grastate(path: Path) -> Grastate | None:
    """The parsed file, or None when it does not exist (a node that never joined)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StateFileError(path, None, f"cannot read ({exc.strerror})") from None
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise StateFileError(path, line, "not ASCII text") from None
    return parse_grastate(text, path)


def set_safe_to_bootstrap(path: Path) -> Grastate:
    """Rewrite ``safe_to_bootstrap: 1`` in place (atomically, same owner). Idempotent.

    Only for the node the core chose to bootstrap: Galera refuses
    ``--wsrep-new-cluster`` without it, and the refusal resets seqno to -1."""
    state = read_grastate(path)
    if state is None:
        raise StateFileError(path, None, "missing: this node has no saved state to bootstrap")
    if state.safe_to_bootstrap:
        return state
    text = path.read_text(encoding="ascii")
    out = re.sub(r"(?m)^(safe_to_bootstrap:\s*)0\s*$", r"\g<1>1", text)
    st = path.stat()
    tmp = path.with_name(path.name + ".hacore-tmp")
    tmp.write_text(out, encoding="ascii")
    os.chown(tmp, st.st_uid, st.st_gid)
    os.chmod(tmp, st.st_mode & 0o7777)
    os.replace(tmp, path)
    return parse_grastate(out, path)


def parse_recovered_position(text: str, path: Path | str = "error log") -> Position:
    """The last ``Recovered position`` line of an error log."""
    found: tuple[str, int] | None = None
    for number, raw in enumerate(text.split("\n"), start=1):
        at = raw.find(_RECOVERED)
        if at >= 0:
            found = (raw[at + len(_RECOVERED) :].strip(), number)
    if found is None:
        raise StateFileError(path, None, "no 'WSREP: Recovered position' line")
    value, number = found
    uuid, sep, seqno = value.rpartition(":")
    if not sep:
        raise StateFileError(path, number, f"recovered position {value!r} is not UUID:SEQNO")
    return Position(_uuid(uuid, path, number), _seqno(seqno, path, number))
