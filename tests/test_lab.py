"""The lab: real keepalived in network namespaces, driven through `hacore lab` and Lab."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from realdaemon import require_root_tools

from adapters.lab import Lab, LabError, LabNode, LabNodeSpec, LabState, default_nodes, leftovers
from adapters.lab.lab import boot_id, proc_start_time
from adapters.lab_cli import parse_partition
from hacli.main import main


def test_not_root_gives_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(LabError, match="needs root"):
        Lab.up(default_nodes(2), name="x", state_dir=tmp_path / "x")
    assert main(["lab", "up", "--nodes", "2", "--state-dir", str(tmp_path / "y")]) == 2
    assert "needs root" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_partition_spec_parsing() -> None:
    assert parse_partition("n1,n2|n3") == [["n1", "n2"], ["n3"]]
    for bad in ("n1", "n1|", "|n2"):
        with pytest.raises(ValueError, match="partition"):
            parse_partition(bad)


def test_bad_usage_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 0)  # past the root check: refused on the values
    assert main(["lab", "up", "--nodes", "0", "--state-dir", "/nonexistent/x"]) == 2
    assert "--nodes" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("state_dir", "why"),
    [("/nonexistent/x", "no directory /nonexistent"), ("/proc/version", "not a directory")],
)
def test_up_refuses_a_state_dir_it_cannot_use(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], state_dir: str, why: str
) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert main(["lab", "up", "--state-dir", state_dir]) == 2
    err = capsys.readouterr().err
    assert why in err and "Traceback" not in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("name", ["a/b", "a b", "..", "-x", "", "x" * 33])
def test_a_lab_name_with_a_slash_or_space_is_refused(
    capsys: pytest.CaptureFixture[str], name: str
) -> None:
    for command in (["up"], ["status"], ["down"], ["kill", "n1"]):
        assert main(["lab", *command, f"--name={name}"]) == 2
        assert "a lab name is 1-32 letters" in capsys.readouterr().err


def test_unknown_lab_and_unknown_node_exit_2(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert main(["lab", "heal", "--state-dir", str(tmp_path / "none")]) == 2
    assert "no lab" in capsys.readouterr().err
    # a state lab.json validates (adapters.lab.state_file): this lab's prefix, names, addresses
    state = LabState("t", "hl00ff00", str(tmp_path), "0.1", False, "hl00ff00-sw")
    state.nodes.append(LabNode("n1", 1, "hl00ff00-n1", "10.77.0.1", 100, True, 0, False))
    Lab(state).save()
    for argv in (["kill", "n9"], ["isolate", "w"], ["loss", "n9", "5"], ["partition", "n1|n9"]):
        assert main(["lab", *argv, "--state-dir", str(tmp_path)]) == 2, argv
        assert "no node" in capsys.readouterr().err
    assert main(["lab", "partition", "n1|n1", "--state-dir", str(tmp_path)]) == 2
    assert "two groups" in capsys.readouterr().err


@pytest.fixture
def lab_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    require_root_tools("ip", "nft", "keepalived")
    d = Path("/run/hacore-lab-test") / f"{os.getpid()}-{time.monotonic_ns()}"
    yield d
    if (d / "lab.json").exists():  # a failed test must not leave a lab behind
        Lab.load(state_dir=d).down()


@pytest.mark.root
def test_cli_lifecycle_and_down_leaves_nothing(
    lab_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sd = ["--state-dir", str(lab_dir)]
    assert main(["lab", "up", "--nodes", "3", "--witness", "--advert-int", "0.05", *sd]) == 0
    assert main(["lab", "status", "--json", *sd]) == 0
    capsys.readouterr()
    assert main(["lab", "status", "--json", *sd]) == 0
    st = json.loads(capsys.readouterr().out)
    prefix = st["prefix"]
    assert st["masters"] == ["n1"] and not st["split_brain"]
    assert [n["has_vip"] for n in st["nodes"]] == [True, False, False]
    assert all(n["keepalived_pid"] and n["recorder_alive"] for n in st["nodes"])
    assert leftovers(prefix)  # the lab is really there

    lab = Lab.load(state_dir=lab_dir)
    # partition: the isolated master stays master, the majority elects n2
    capsys.readouterr()

    def said() -> str:
        out = capsys.readouterr().out
        assert len(out.splitlines()) == 1, out  # one line saying what was done
        return out

    assert main(["lab", "partition", "n1|n2,n3,w", *sd]) == 0
    assert "partitioned n1 | n2,n3,w" in said()
    lab.wait_for(lambda s: s["n1"] == "MASTER" and s["n2"] == "MASTER", 3)
    assert main(["lab", "heal", *sd]) == 0
    assert "healed" in said()
    lab.wait_for(lambda s: s["n1"] == "MASTER" and s["n2"] == "BACKUP", 3)
    # a crash of the master: n2 takes over; a restart: n1 preempts again
    assert main(["lab", "kill", "n1", *sd]) == 0
    assert "killed n1's keepalived" in said()
    lab.wait_for(lambda s: s["n1"] == "DOWN" and s["n2"] == "MASTER", 3)
    assert main(["lab", "restart", "n1", *sd]) == 0
    assert "restarted n1's keepalived" in said()
    lab.wait_for(lambda s: s["n1"] == "MASTER" and s["n2"] == "BACKUP", 3)
    assert main(["lab", "loss", "n3", "50", *sd]) == 0
    assert "n3 drops 50% of its packets" in said()
    assert Lab.load(state_dir=lab_dir).state.loss == {"n3": 50}
    assert main(["lab", "status", *sd]) == 0
    text = capsys.readouterr().out
    assert f"VIP {st['vip']}: held by n1" in text and "loss rules: n3 50%" in text

    assert main(["lab", "down", *sd]) == 0
    assert "down" in said()
    assert leftovers(prefix) == []
    assert not lab_dir.exists()


@pytest.mark.root
def test_keepalived_own_view_and_isolation(lab_dir: Path) -> None:
    lab = Lab.up(
        [LabNodeSpec("n1", 200), LabNodeSpec("n2", 100)], state_dir=lab_dir, advert_int="0.05"
    )
    prefix = lab.state.prefix
    try:
        (view,) = lab.keepalived_json("n1")
        assert view.state == "MASTER" and view.effective_priority == 200 and view.vip_set
        (view2,) = lab.keepalived_json("n2")
        assert view2.state == "BACKUP"  # per-node dumps: n2's file is n2's
        lab.isolate("n2")
        lab.wait_for(lambda s: s == {"n1": "MASTER", "n2": "MASTER"}, 3)
        assert lab.status()["split_brain"]
        lab.heal()
        assert lab.wait_for_one_master(5) == "n1"
        # a clean stop writes STOP and the backup takes over
        lab.stop("n1")
        lab.wait_for(lambda s: s["n2"] == "MASTER", 3)
        stops = [t for t in lab.transitions() if t.node == "n1" and t.record.state == "STOP"]
        assert len(stops) == 1
    finally:
        lab.down()
    assert leftovers(prefix) == []


@pytest.mark.root
def test_loss_really_drops_packets(lab_dir: Path) -> None:
    """`lab loss` is an nft random drop on both directions of the node: measured with
    bounded TCP probes from the other namespace and with keepalived's own adverts."""
    sd = ["--state-dir", str(lab_dir)]
    lab = Lab.up(
        [LabNodeSpec("n1", 200), LabNodeSpec("n2", 100)], state_dir=lab_dir, advert_int="0.05"
    )
    prefix = lab.state.prefix
    try:
        n = 200
        assert lab.probe("n1", "n2", n) == n  # no loss: every probe is answered
        # loss 50 on n2: the SYN and the RST each cross n2 once, so ~25 % are answered
        assert main(["lab", "loss", "n2", "50", *sd]) == 0
        answered = lab.probe("n1", "n2", n)
        assert 0.08 * n <= answered <= 0.45 * n, answered  # mean 0.25 n, sd ~0.03 n
        # loss 100: nothing gets through, n2 stops hearing n1's adverts and becomes MASTER
        assert main(["lab", "loss", "n2", "100", *sd]) == 0
        assert lab.probe("n1", "n2", n, timeout=0.2) == 0
        lab.wait_for(lambda s: s == {"n1": "MASTER", "n2": "MASTER"}, 3)
        assert main(["lab", "heal", *sd]) == 0
        assert lab.wait_for_one_master(5) == "n1"
        assert lab.vrrp_states() == {"n1": "MASTER", "n2": "BACKUP"}
        assert lab.probe("n1", "n2", n) == n
    finally:
        lab.down()
    assert leftovers(prefix) == []


@pytest.mark.root
def test_a_reused_pid_is_never_signalled(lab_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """lab.json names a PID that now belongs to another process (a `sleep` of ours, as
    after a crash and PID reuse): kill/stop/down refuse to signal it and say why."""
    sleeper = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        start = proc_start_time(sleeper.pid)
        assert start is not None
        prefix = "hl" + secrets.token_hex(3)
        lab_dir.mkdir(parents=True)
        node = LabNode(
            "n1", 1, f"{prefix}-n1", "10.77.0.1", 200, True, 0, False,
            keepalived_pid=sleeper.pid, keepalived_start=start - 1,  # another process's
            recorder_pid=sleeper.pid, recorder_start=None,  # no identity recorded
        )  # fmt: skip
        state = LabState("t", prefix, str(lab_dir), "0.05", False, f"{prefix}-sw", [node])
        state.boot_id = boot_id()
        Lab(state).save()
        sd = ["--state-dir", str(lab_dir)]

        assert main(["lab", "kill", "n1", *sd]) == 1
        err = capsys.readouterr().err
        assert f"n1: keepalived: pid {sleeper.pid} is not the process the lab started" in err
        assert "reused; not signalling it" in err
        lab = Lab.load(state_dir=lab_dir)
        with pytest.raises(LabError, match="reused; not signalling it"):
            lab.stop("n1")
        assert lab.vrrp_states() == {"n1": "DOWN"}  # a reused PID is not our keepalived
        # the right start time but another boot: refused as well
        state.nodes[0].keepalived_start = start
        state.boot_id = "00000000-0000-0000-0000-000000000000"
        with pytest.raises(LabError, match="before a reboot"):
            Lab(state).kill("n1")
        state.boot_id = boot_id()
        Lab(state).save()
        assert Lab.load(state_dir=lab_dir).vrrp_states() == {"n1": "UNKNOWN"}  # it matches now
        state.nodes[0].keepalived_start = start - 1
        Lab(state).save()

        assert main(["lab", "down", *sd]) == 1
        err = capsys.readouterr().err
        assert f"n1: keepalived: pid {sleeper.pid} is not the process" in err
        assert f"n1: recorder: pid {sleeper.pid} has no start time recorded" in err
        assert "the rest of the lab was removed" in err
        assert not lab_dir.exists()
        assert sleeper.poll() is None  # never signalled
    finally:
        sleeper.kill()  # by its PID: it is our child
        sleeper.wait()


@pytest.mark.root
def test_a_half_built_lab_is_cleaned_up_and_a_second_up_is_refused(lab_dir: Path) -> None:
    lab = Lab.up(default_nodes(2), state_dir=lab_dir, start=False)
    prefix = lab.state.prefix
    with pytest.raises(LabError, match="already up"):
        Lab.up(default_nodes(2), state_dir=lab_dir)
    Lab.load(state_dir=lab_dir).down()
    assert leftovers(prefix) == []


def test_missing_prerequisites_fail_in_ci_and_skip_elsewhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from realdaemon import require_root_tools

    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="no-such-binary-hacore"):
        require_root_tools("no-such-binary-hacore")
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception, match="no-such-binary-hacore"):
        require_root_tools("no-such-binary-hacore")
