"""The agent's TOML configuration: validation errors, secrets, the generated reference."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from agent_helpers import KEY, config_text, write_key

from adapters.agent.config import AgentConfig, ConfigFileError, ConfigValueError, parse_config
from adapters.agent.config_doc import render_reference
from adapters.agent.secret_files import SecretFileError, load_secrets, read_secret
from hacli.main import main
from hacore.roles import Mode, Policy

ROOT = Path(__file__).resolve().parent.parent


def _config(tmp_path: Path, extra: str = "", node: str = "a") -> AgentConfig:
    return parse_config(config_text(write_key(tmp_path / "peer.key"), node, extra))


def _error(tmp_path: Path, extra: str = "", node: str = "a") -> ConfigValueError:
    with pytest.raises(ConfigValueError) as info:
        _config(tmp_path, extra, node)
    return info.value


def test_a_valid_file_gives_the_cores_cluster_config(tmp_path: Path) -> None:
    config = _config(tmp_path, "\n[timing]\nstep_timeout_s = 2.5\n")
    core = config.cluster_config()
    assert [n.name for n in core.nodes] == ["a", "b"]
    assert core.nodes[0].priority == 150
    assert core.mode is Mode.AVAILABILITY_FIRST and core.policy is Policy.VRRP_WINNER
    assert core.timing.step_timeout_us == 2_500_000
    # services stay off until their adapters are configured
    assert not any((core.services.k3s, core.services.galera, core.services.gluster))
    assert config.me.address == "10.9.0.1" and [n.name for n in config.others] == ["b"]
    assert not config.http.enabled  # the HTTP endpoints are off unless asked for


def test_an_unknown_key_is_an_error_naming_it(tmp_path: Path) -> None:
    err = _error(tmp_path, "\n[http]\nenabeld = true\n")
    assert err.key == "http.enabeld"
    assert "no such key" in err.expected and "enabled" in err.expected


def test_an_unknown_top_level_section_is_an_error(tmp_path: Path) -> None:
    err = _error(tmp_path, "\n[gallera]\nuser = 'x'\n")
    assert err.key == "gallera"


def test_a_wrong_type_names_key_value_and_expectation(tmp_path: Path) -> None:
    err = _error(tmp_path, "port = 'seventy'\n")
    assert (err.key, err.value, err.expected) == ("peer.port", "seventy", "an integer")
    assert str(err) == "peer.port: expected an integer, got 'seventy'"


def test_an_out_of_range_value_is_refused(tmp_path: Path) -> None:
    err = _error(tmp_path, "port = 70000\n")
    assert err.key == "peer.port" and err.value == 70000 and "1..65535" in err.expected


def test_a_bool_is_not_an_integer(tmp_path: Path) -> None:
    assert _error(tmp_path, "port = true\n").key == "peer.port"


def test_an_error_inside_an_array_of_tables_names_the_index(tmp_path: Path) -> None:
    text = config_text(write_key(tmp_path / "k"), "a").replace(
        'address = "10.9.0.2"', 'address = "10.9.0.300"'
    )
    with pytest.raises(ConfigValueError) as info:
        parse_config(text)
    assert info.value.key == "cluster.nodes[1].address" and info.value.value == "10.9.0.300"


def test_a_missing_required_key_is_named(tmp_path: Path) -> None:
    text = config_text(write_key(tmp_path / "k")).replace('virtual_ip = "10.9.0.250/24"', "")
    with pytest.raises(ConfigValueError) as info:
        parse_config(text)
    assert info.value.key == "cluster.virtual_ip" and "(missing)" in str(info.value)


def test_an_enum_value_lists_the_choices(tmp_path: Path) -> None:
    text = config_text(write_key(tmp_path / "k")).replace(
        "[cluster]", '[cluster]\npolicy = "coin-flip"'
    )
    with pytest.raises(ConfigValueError) as info:
        parse_config(text)
    assert info.value.key == "cluster.policy" and "'most-committed'" in info.value.expected


def test_the_node_must_be_one_of_the_cluster(tmp_path: Path) -> None:
    err = _error(tmp_path, node="c")
    assert err.key == "node" and "a, b" in err.expected


def test_a_bad_advert_int_is_refused_with_keepalived_s_reason(tmp_path: Path) -> None:
    err = _error(tmp_path, "\n[keepalived]\nadvert_int = 0.005\n")
    assert err.key == "keepalived.advert_int" and "0.01" in err.expected


def test_the_write_lease_must_be_shorter_than_the_peer_timeout(tmp_path: Path) -> None:
    err = _error(tmp_path, "timeout_s = 1.0\n")
    assert err.key == "timing.write_lease_s"


def test_not_toml_is_a_file_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError):
        parse_config("node = ", "x.toml")


def test_the_rendered_keepalived_config_uses_this_node_and_its_peers(tmp_path: Path) -> None:
    text = _config(tmp_path, node="b").keepalived_config().render()
    assert "unicast_src_ip 10.9.0.2" in text and "    10.9.0.1\n" in text
    assert "vrrp_notify_fifo /run/hacore/notify.fifo" in text
    assert "10.9.0.250/24 dev eth0" in text


# -- secrets ---------------------------------------------------------------------------


def test_a_secret_file_must_be_0600(tmp_path: Path) -> None:
    key = write_key(tmp_path / "peer.key", mode=0o640)
    with pytest.raises(SecretFileError, match="mode 0640, must be 0600"):
        read_secret(str(key), "peer.key_file")
    os.chmod(key, 0o600)
    assert read_secret(str(key), "peer.key_file").value == KEY


def test_a_symlinked_secret_is_refused(tmp_path: Path) -> None:
    key = write_key(tmp_path / "real.key")
    (tmp_path / "link.key").symlink_to(key)
    with pytest.raises(SecretFileError, match="cannot open"):
        read_secret(str(tmp_path / "link.key"), "peer.key_file")


def test_a_short_peer_key_is_refused(tmp_path: Path) -> None:
    key = write_key(tmp_path / "peer.key", key=b"short")
    with pytest.raises(SecretFileError, match="at least 32"):
        load_secrets(parse_config(config_text(key)))


def test_a_secret_never_shows_its_value(tmp_path: Path) -> None:
    secret = read_secret(str(write_key(tmp_path / "peer.key")), "peer.key_file")
    assert KEY.decode() not in repr(secret) and KEY.decode() not in str(secret)


# -- the command ------------------------------------------------------------------------


def test_config_check_accepts_a_valid_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "agent.toml"
    path.write_text(config_text(write_key(tmp_path / "peer.key")))
    assert main(["config", "check", str(path)]) == 0
    assert "valid" in capsys.readouterr().out


def test_config_check_reports_the_key_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "agent.toml"
    path.write_text(config_text(write_key(tmp_path / "peer.key"), extra="bogus = 1\n"))
    assert main(["config", "check", str(path)]) == 1
    err = capsys.readouterr().err
    assert "peer.bogus" in err and "Traceback" not in err


def test_config_check_refuses_a_readable_key_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "agent.toml"
    path.write_text(config_text(write_key(tmp_path / "peer.key", mode=0o644)))
    assert main(["config", "check", str(path)]) == 1
    assert "must be 0600" in capsys.readouterr().err


def test_config_check_on_a_missing_file_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "check", "/nonexistent/agent.toml"]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_the_example_config_is_valid() -> None:
    assert main(["config", "check", "--no-secrets", str(ROOT / "contrib/agent.example.toml")]) == 0


# -- the reference ------------------------------------------------------------------------


def test_the_checked_in_reference_is_current() -> None:
    doc = (ROOT / "docs" / "agent-config.md").read_text(encoding="utf-8")
    assert doc == render_reference(), (
        "docs/agent-config.md is stale: run scripts/gen_agent_config_doc.py"
    )


def test_the_reference_lists_every_key() -> None:
    doc = render_reference()
    for key in (
        "`key_file`",
        "`advert_int`",
        "`password_file`",
        "`write_lease_s`",
        "[[cluster.nodes]]",
    ):
        assert key in doc


def test_the_generator_check_mode_passes_on_the_checked_in_file() -> None:
    script = ROOT / "scripts" / "gen_agent_config_doc.py"
    result = subprocess.run(  # noqa: S603 - argv list
        [sys.executable, str(script), "--check"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_the_generator_check_mode_fails_on_a_stale_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "gen_cfg", ROOT / "scripts/gen_agent_config_doc.py"
    )
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    stale = tmp_path / "agent-config.md"
    stale.write_text("old\n", encoding="utf-8")
    monkeypatch.setattr(gen, "DOC", stale)
    assert gen.main(["--check"]) == 1
    assert gen.main([]) == 0 and gen.main(["--check"]) == 0


def test_the_packaged_keepalived_example_is_what_the_example_config_renders() -> None:
    example = parse_config((ROOT / "contrib/agent.example.toml").read_text())
    rendered = example.keepalived_config().render()
    assert (ROOT / "contrib/keepalived.example.conf").read_text() == rendered, (
        "contrib/keepalived.example.conf is stale: "
        "hacore config keepalived contrib/agent.example.toml > contrib/keepalived.example.conf"
    )
