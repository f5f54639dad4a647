"""The lab trusts its state directory only when it is root's own (issue 15).

The issue's example: given a ``lab.json`` written by another user in a shared
``--state-dir``, root's ``hacore lab down`` signalled a process named in that
file and deleted a directory outside the state dir (a node name given as an
absolute path). Now the directory must be ours and writable by nobody else,
the file too, every name in it is validated and every path kept inside.
"""

from __future__ import annotations

import dataclasses
import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from boundary_fuzz import ACCEPTED, FAST, SLOW, TYPED_ERROR, json_mutants, tally
from hypothesis import given
from hypothesis import strategies as st

from adapters.lab.lab import Lab, LabNode, LabState, proc_start_time
from adapters.lab.net import LabError
from adapters.lab.state_file import NAME, PREFIX, trusted_dir
from hacli.main import main

PREFIX_OK = "hl0a0b0c"


def _state(d: Path, **node: Any) -> LabState:
    state = LabState("t", PREFIX_OK, str(d), "0.1", False, f"{PREFIX_OK}-sw")
    fields: dict[str, Any] = {
        "name": "n1",
        "index": 1,
        "netns": f"{PREFIX_OK}-n1",
        "ip": "10.77.0.1",
        "priority": 100,
        "preempt": True,
        "preempt_delay": 0,
        "start_as_master": False,
    }
    fields.update(node)
    state.nodes.append(LabNode(**fields))
    return state


def _write_raw(d: Path, state: LabState) -> None:
    """lab.json as someone else could write it (no validation on the way in)."""
    (d / "lab.json").write_text(json.dumps(dataclasses.asdict(state)))


@pytest.fixture
def victim() -> Iterator[subprocess.Popen[bytes]]:
    """A process the forged lab.json names, with its true start time."""
    proc = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True
    )
    yield proc
    proc.kill()
    proc.wait(5)


def _require_root() -> None:
    from realdaemon import require_root_tools

    require_root_tools()


@pytest.mark.root
def test_down_with_a_state_dir_of_another_user_signals_and_deletes_nothing(
    tmp_path: Path, victim: subprocess.Popen[bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    _require_root()
    shared = tmp_path / "shared"
    shared.mkdir()
    outside = tmp_path / "precious"
    outside.mkdir()
    (outside / "data").write_text("keep me\n")
    state = _state(
        shared,
        name=str(outside),  # an absolute path as a node name
        keepalived_pid=victim.pid,
        keepalived_start=proc_start_time(victim.pid),
    )
    state.boot_id = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    _write_raw(shared, state)
    os.chown(shared, 65534, 65534)
    os.chown(shared / "lab.json", 65534, 65534)
    assert main(["lab", "down", "--state-dir", str(shared)]) == 2
    assert "owned by uid 65534" in capsys.readouterr().err
    assert victim.poll() is None  # not signalled
    assert (outside / "data").read_text() == "keep me\n"


@pytest.mark.root
def test_a_forged_node_name_in_our_own_directory_is_refused(
    tmp_path: Path, victim: subprocess.Popen[bytes]
) -> None:
    _require_root()
    d = tmp_path / "lab"
    d.mkdir(mode=0o700)
    outside = tmp_path / "precious"
    outside.mkdir()
    _write_raw(d, _state(d, name=str(outside), keepalived_pid=victim.pid))
    with pytest.raises(LabError, match="bad node name"):
        Lab.load(state_dir=d)
    assert outside.exists() and victim.poll() is None


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda d: d.chmod(0o777), "writable by others"),
        (lambda d: d.chmod(0o770), "writable by others"),
        (lambda d: (d / "lab.json").chmod(0o666), "writable by others"),
        (lambda d: os.chown(d / "lab.json", 65534, 65534), "owned by uid 65534"),
    ],
)
@pytest.mark.root
def test_directories_and_files_others_could_write_are_refused(
    tmp_path: Path, mutate: Any, match: str
) -> None:
    _require_root()
    d = tmp_path / "lab"
    d.mkdir(mode=0o700)
    Lab(_state(d)).save()
    Lab.load(state_dir=d)  # fine as written
    mutate(d)
    with pytest.raises(LabError, match=match):
        Lab.load(state_dir=d)


def test_a_symlinked_state_dir_or_file_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    Lab(_state(real)).save()
    (tmp_path / "link").symlink_to(real)
    with pytest.raises(LabError, match="symlink"):
        Lab.load(state_dir=tmp_path / "link")
    other = tmp_path / "other"
    other.mkdir(mode=0o700)
    (other / "lab.json").symlink_to(real / "lab.json")
    with pytest.raises(LabError, match="symlink"):
        Lab.load(state_dir=other)


def test_lab_files_are_0600_and_the_state_dir_0700_under_umask_0(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        d = trusted_dir(tmp_path / "new" / "lab", create=True)
        Lab(_state(d)).save()
    finally:
        os.umask(old)
    assert stat.S_IMODE(d.stat().st_mode) == 0o700
    assert stat.S_IMODE((d / "lab.json").stat().st_mode) == 0o600
    assert Lab.load(state_dir=d).state == _state(d)


@pytest.mark.parametrize(
    "node",
    [
        {"name": ".."},
        {"name": "n1/../../x"},
        {"netns": "other-n1"},
        {"ip": "8.8.8.8"},
        {"keepalived_pid": 1},
        {"keepalived_pid": -5},
        {"keepalived_pid": True},
        {"recorder_pid": "123"},
        {"index": 7},
    ],
)
def test_every_value_read_from_lab_json_is_validated(tmp_path: Path, node: dict[str, Any]) -> None:
    d = tmp_path / "lab"
    d.mkdir(mode=0o700)
    _write_raw(d, _state(d, **node))
    with pytest.raises(LabError, match="refusing to trust it"):
        Lab.load(state_dir=d)


def test_a_lab_json_naming_another_state_dir_is_refused(tmp_path: Path) -> None:
    d = tmp_path / "lab"
    d.mkdir(mode=0o700)
    _write_raw(d, _state(tmp_path / "elsewhere"))
    with pytest.raises(LabError, match="not this directory"):
        Lab.load(state_dir=d)


# -- fuzz: lab.json ---------------------------------------------------------------------

_FUZZ_DIR: dict[str, Path] = {}


def _fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if "d" not in _FUZZ_DIR:
        d = tmp_path_factory.mktemp("labfuzz")
        d.chmod(0o700)
        _FUZZ_DIR["d"] = d
    return _FUZZ_DIR["d"]


def _docs(d: Path) -> st.SearchStrategy[object]:
    def build(n: int, cut: bool, loss: int) -> object:
        state = _state(d, keepalived_pid=4242, keepalived_start=99)
        for i in range(2, n + 1):
            state.nodes.append(
                dataclasses.replace(
                    state.nodes[0], name=f"n{i}", index=i, netns=f"{PREFIX_OK}-n{i}",
                    ip=f"10.77.0.{i}",
                )
            )  # fmt: skip
        if cut and n > 1:
            state.cuts.append(["n1", "n2"])
        state.loss["n1"] = loss
        return dataclasses.asdict(state)

    return st.builds(build, st.integers(1, 3), st.booleans(), st.integers(0, 100))


def check_lab_json(d: Path, text: str) -> None:
    (d / "lab.json").write_bytes(text.encode("utf-8", "surrogatepass"))  # bad UTF-8 too
    try:
        lab = Lab.load(state_dir=d)
    except LabError:
        tally("lab state (lab.json)", TYPED_ERROR)
        return
    state = lab.state
    assert PREFIX.fullmatch(state.prefix) and Path(state.state_dir).resolve() == d.resolve()
    for i, n in enumerate(state.nodes, start=1):
        assert NAME.fullmatch(n.name) and lab.node_dir(n).parent == d
        assert n.netns == f"{state.prefix}-{n.name}" and n.ip == f"10.77.0.{i}" and n.index == i
        for pid in (n.keepalived_pid, n.recorder_pid):
            assert pid is None or (type(pid) is int and pid >= 2)
    tally("lab state (lab.json)", ACCEPTED)


@FAST
@given(data=st.data())
def test_fuzz_lab_json(tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    d = _fuzz_dir(tmp_path_factory)
    check_lab_json(d, data.draw(json_mutants(_docs(d))))


@pytest.mark.slow
@SLOW
@given(data=st.data())
def test_fuzz_lab_json_slow(tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    d = _fuzz_dir(tmp_path_factory)
    check_lab_json(d, data.draw(json_mutants(_docs(d))))
