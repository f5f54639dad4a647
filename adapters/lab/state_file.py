"""The lab's state directory and ``lab.json``, trusted only when they are root's own.

``hacore lab`` runs as root and acts on what ``lab.json`` says: it signals the
PIDs recorded there and deletes the node directories it names. So a state
directory another user can write (or a ``lab.json`` another user wrote) would
let that user have root signal any process or delete any directory. Hence:

* the state directory is a real directory (not a symlink) owned by us (root)
  and writable by nobody else; it is created 0700, whatever the umask;
* ``lab.json`` is a regular file owned by us, not group/other writable, opened
  without following a symlink, written 0600 through a temporary file;
* every value read from it is validated: names are short ASCII words (so a
  node name cannot be ``/etc`` or ``..``), the prefix is ours (``hl`` + 6 hex
  digits), namespaces, addresses and indexes are the ones ``up`` derives,
  PIDs are positive integers, and the recorded ``state_dir`` is this directory.
Anything else is a :class:`LabError` naming the problem; nothing is signalled
or deleted on the strength of a file that fails these checks.
"""

from __future__ import annotations

import dataclasses
import os
import re
import stat
from pathlib import Path
from typing import Any

from adapters.lab.net import LabError
from hacore import codec

DIR_MODE = 0o700
FILE_MODE = 0o600
STATE_FILE = "lab.json"
MAX_STATE_BYTES = 1 << 20  # a lab of 32 nodes writes a few KB
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}", re.ASCII)
PREFIX = re.compile(r"hl[0-9a-f]{6}", re.ASCII)
ADVERT = re.compile(r"[0-9]{1,2}(\.[0-9]{1,2})?", re.ASCII)  # seconds, as `up` writes them


def _owner_problem(st: os.stat_result, what: str, path: Path) -> str | None:
    if st.st_uid != os.geteuid():
        return f"{what} {path} is owned by uid {st.st_uid}, not by us (uid {os.geteuid()})"
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"{what} {path} is writable by others (mode {stat.S_IMODE(st.st_mode):o})"
    return None


def trusted_dir(directory: Path, *, create: bool = False) -> Path:
    """``directory`` if it is a real directory of ours that nobody else can write."""
    if create:
        try:
            directory.mkdir(mode=DIR_MODE, parents=True)
            os.chmod(directory, DIR_MODE)  # whatever the umask
        except FileExistsError:
            pass
        except OSError as exc:
            raise LabError(f"state directory {directory}: cannot create ({exc.strerror})") from None
    try:
        st = os.lstat(directory)
    except FileNotFoundError:
        raise LabError(f"state directory {directory} does not exist") from None
    except OSError as exc:
        raise LabError(f"state directory {directory}: {exc.strerror}") from None
    if not stat.S_ISDIR(st.st_mode):
        raise LabError(f"state directory {directory} is not a directory (or is a symlink)")
    problem = _owner_problem(st, "state directory", directory)
    if problem is not None:
        raise LabError(problem + "; refusing to trust it")
    return directory


def read_state_text(directory: Path) -> str:
    """The text of ``lab.json`` in a trusted directory, if the file itself is trusted."""
    trusted_dir(directory)
    path = directory / STATE_FILE
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except FileNotFoundError:
        raise
    except OSError as exc:
        if os.path.islink(path):
            raise LabError(f"{path} is a symlink; refusing to trust it") from None
        raise LabError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise LabError(f"{path} is not a regular file; refusing to trust it")
        problem = _owner_problem(st, "state file", path)
        if problem is not None:
            raise LabError(problem + "; refusing to trust it")
        data = os.read(fd, MAX_STATE_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_STATE_BYTES:
        raise LabError(f"{path}: larger than {MAX_STATE_BYTES} bytes; not a lab's state")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise LabError(f"{path}: not UTF-8") from None


def write_state_text(directory: Path, text: str) -> None:
    """Replace ``lab.json`` atomically with a 0600 file (never through a symlink)."""
    trusted_dir(directory)
    tmp = directory / (STATE_FILE + ".tmp")
    tmp.unlink(missing_ok=True)  # a leftover (or planted) file or link: never written through
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(tmp, flags, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        os.write(fd, text.encode())
    finally:
        os.close(fd)
    os.replace(tmp, directory / STATE_FILE)


# -- validating what the file says -------------------------------------------------


def _fail(path: Path, message: str) -> LabError:
    return LabError(f"{path}: {message}; refusing to trust it")


def _require(path: Path, ok: bool, message: str) -> None:
    if not ok:
        raise _fail(path, message)


def _is_int(value: object, lo: int, hi: int) -> bool:
    return type(value) is int and lo <= value <= hi


def check_fields(path: Path, raw: object, cls: type[Any]) -> dict[str, Any]:
    """``raw`` as keyword arguments of dataclass ``cls``: an object with exactly its fields."""
    _require(path, isinstance(raw, dict), f"expected an object for {cls.__name__}")
    assert isinstance(raw, dict)
    names = {f.name for f in dataclasses.fields(cls)}
    required = {
        f.name
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }
    unknown = sorted(set(raw) - names, key=str)
    _require(path, not unknown, f"unknown field(s) {unknown!r:.200}")
    missing = sorted(required - set(raw))
    _require(path, not missing, f"missing field(s) {missing}")
    return dict(raw)


def parse_json(path: Path, text: str) -> Any:
    try:
        return codec.parse_json(text)
    except codec.JsonError as exc:
        raise LabError(f"{path}: not valid JSON ({exc})") from None


def validate_node(path: Path, n: dict[str, Any], prefix: str, subnet: str, index: int) -> None:
    name = n["name"]
    _require(path, isinstance(name, str) and NAME.fullmatch(name) is not None, "bad node name")
    _require(path, n["index"] == index, f"node {name}: index {n['index']!r} is not {index}")
    _require(path, n["netns"] == f"{prefix}-{name}", f"node {name}: not this lab's namespace")
    _require(path, n["ip"] == f"{subnet}.{index}", f"node {name}: not this lab's address")
    _require(path, _is_int(n["priority"], 1, 255), f"node {name}: bad priority")
    for flag in ("preempt", "start_as_master"):
        _require(path, type(n[flag]) is bool, f"node {name}: {flag} is not a boolean")
    _require(path, _is_int(n["preempt_delay"], 0, 1000), f"node {name}: bad preempt_delay")
    for key in ("keepalived_pid", "recorder_pid"):
        value = n.get(key)
        _require(path, value is None or _is_int(value, 2, 2**22), f"node {name}: bad {key}")
    for key in ("keepalived_start", "recorder_start"):
        value = n.get(key)
        _require(path, value is None or _is_int(value, 0, 2**63 - 1), f"node {name}: bad {key}")
    started = n.get("started_at")
    _require(
        path,
        started is None or (type(started) in (int, float) and started >= 0),
        f"node {name}: bad started_at",
    )


def validate_state(path: Path, raw: dict[str, Any], directory: Path, max_nodes: int) -> None:
    prefix = raw["prefix"]
    _require(path, isinstance(prefix, str) and PREFIX.fullmatch(prefix) is not None, "bad prefix")
    name = raw["name"]
    _require(path, isinstance(name, str) and NAME.fullmatch(name) is not None, "bad lab name")
    _require(
        path,
        isinstance(raw["state_dir"], str)
        and os.path.realpath(raw["state_dir"]) == os.path.realpath(directory),
        f"records state_dir {raw['state_dir']!r:.100}, not this directory",
    )
    _require(path, raw["switch_ns"] == f"{prefix}-sw", "not this lab's switch namespace")
    _require(path, type(raw["witness"]) is bool, "witness is not a boolean")
    _require(path, _advert_ok(raw["advert_int"]), "bad advert_int")
    boot = raw.get("boot_id", "")
    _require(path, isinstance(boot, str) and len(boot) <= 64, "bad boot_id")
    nodes = raw.get("nodes", [])
    _require(path, isinstance(nodes, list) and len(nodes) <= max_nodes, "bad node list")
    names = [str(n.get("name")) if isinstance(n, dict) else "" for n in nodes]
    _require(path, len(set(names)) == len(names), "node names repeat")
    known = {*names, "w"}
    _require(path, _cuts_ok(raw.get("cuts", []), known), "bad cuts")
    _require(path, _loss_ok(raw.get("loss", {}), known), "bad loss")


def _advert_ok(value: object) -> bool:
    return isinstance(value, str) and ADVERT.fullmatch(value) is not None


def _cuts_ok(cuts: object, known: set[str]) -> bool:
    """Directed pairs [from, to] of the lab's own members."""
    if not isinstance(cuts, list):
        return False
    for cut in cuts:
        if not isinstance(cut, list) or len(cut) != 2:
            return False
        if not all(isinstance(x, str) and x in known for x in cut):
            return False
    return True


def _loss_ok(loss: object, known: set[str]) -> bool:
    if not isinstance(loss, dict):
        return False
    return all(k in known and _is_int(v, 0, 100) for k, v in loss.items())
