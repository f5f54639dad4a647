"""The agent configuration's service sections ([datastore], [k3s], [gluster]), the witness,
and the ports the agent builds from them (no daemon runs here)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from agent_helpers import config_text, write_key

from adapters.agent.config import AgentConfig, ConfigValueError, parse_config
from adapters.agent.ports import DisabledService, mariadb_port
from adapters.agent.secret_files import Secret, Secrets
from adapters.agent.service_ports import (
    ServiceSetupError,
    datastore_port,
    gluster_port,
    k3s_port,
)
from adapters.gluster.port import GlusterPortAdapter
from adapters.k3s.port import K3sAdapter
from adapters.litestream.port import LitestreamDatastore
from hacli.main import main


def _datastore(tmp: Path, **over: object) -> str:
    values: dict[str, object] = {
        "adapter": "litestream",
        "database": f"{tmp}/k3s/state.db",
        "replica_dir": f"{tmp}/replica-a",
        "restore_dir": f"{tmp}/replica-b",  # the peer's
        "socket": f"{tmp}/run/litestream.sock",
        "state_dir": f"{tmp}/ls",
        "quarantine_dir": f"{tmp}/q",
        "binary": sys.executable,  # an executable file; nothing runs it here
    }
    return _section("datastore", values, over)


def _k3s(tmp: Path, **over: object) -> str:
    values: dict[str, object] = {
        "adapter": "process",
        "start_command": [sys.executable, "-m", "adapters.k3s.standin_server"],
        "readyz_port": 16443,
        "state_dir": f"{tmp}/k3s-run",
    }
    return _section("k3s", values, over)


def _section(name: str, values: dict[str, object], over: dict[str, object]) -> str:
    """A TOML table: ``values`` with ``over`` applied (None leaves a key out)."""
    merged = {**values, **over}
    return f"\n[{name}]\n" + "".join(
        f"{k} = {_toml(v)}\n" for k, v in merged.items() if v is not None
    )


def _toml(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return f'"{v}"'
    if isinstance(v, list):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    return str(v)


def _services(**on: bool) -> str:
    return "\n[services]\n" + "".join(f"{k} = {_toml(v)}\n" for k, v in on.items())


def _config(tmp: Path, extra: str) -> AgentConfig:
    return parse_config(config_text(write_key(tmp / "peer.key"), "a", extra))


def _error(tmp: Path, extra: str) -> ConfigValueError:
    with pytest.raises(ConfigValueError) as info:
        _config(tmp, extra)
    return info.value


# -- [datastore] --------------------------------------------------------------------------


def test_a_litestream_datastore_section_is_accepted(tmp_path: Path) -> None:
    config = _config(tmp_path, _datastore(tmp_path) + _services(litestream=True))
    assert config.datastore.adapter == "litestream"
    assert config.cluster_config().services.litestream


def test_the_datastore_defaults_to_disabled(tmp_path: Path) -> None:
    config = _config(tmp_path, "")
    assert config.datastore.adapter == "disabled" and config.k3s.adapter == "disabled"
    assert isinstance(datastore_port(config, lambda: 0), DisabledService)
    assert isinstance(k3s_port(config, lambda: 0), DisabledService)
    assert isinstance(gluster_port(config, lambda: 0), DisabledService)


@pytest.mark.parametrize(
    ("over", "key", "expected"),
    [
        ({"replica_dir": None}, "datastore.replica_dir", "a value when datastore.adapter"),
        ({"restore_dir": None}, "datastore.restore_dir", "a value when datastore.adapter"),
        ({"database": None}, "datastore.database", "a value when datastore.adapter"),
        ({"adapter": "s3"}, "datastore.adapter", "one of 'disabled', 'litestream'"),
        ({"monitor_interval_ms": 5}, "datastore.monitor_interval_ms", "10..60000"),
        ({"binary": "litestream"}, "datastore.binary", "an absolute path"),
        ({"database": "/var/lib/../lib/state.db"}, "datastore.database", "not normalized"),
    ],
)
def test_a_bad_datastore_value_names_its_key(
    tmp_path: Path, over: dict[str, object], key: str, expected: str
) -> None:
    err = _error(tmp_path, _datastore(tmp_path, **over))
    assert err.key == key and expected in str(err), str(err)


def test_the_replica_must_not_be_the_database_s_directory(tmp_path: Path) -> None:
    err = _error(tmp_path, _datastore(tmp_path, replica_dir=f"{tmp_path}/k3s"))
    assert err.key == "datastore.replica_dir" and "other than the database" in err.expected


def test_a_replica_both_nodes_write_is_refused(tmp_path: Path) -> None:
    err = _error(tmp_path, _datastore(tmp_path, restore_dir=f"{tmp_path}/replica-a"))
    assert err.key == "datastore.restore_dir" and "the peer's replica" in err.expected


def test_litestream_managed_without_a_datastore_adapter_is_refused(tmp_path: Path) -> None:
    err = _error(tmp_path, _services(litestream=True))
    assert err.key == "datastore.adapter" and "services.litestream" in err.expected


# -- [k3s] ----------------------------------------------------------------------------------


def test_a_k3s_section_is_accepted_and_shares_the_datastore(tmp_path: Path) -> None:
    extra = _datastore(tmp_path) + _k3s(tmp_path) + _services(k3s=True, litestream=True)
    config = _config(tmp_path, extra)
    assert config.k3s_datastore == f"{tmp_path}/k3s/state.db"
    assert config.k3s.replica_expected  # never start k3s on an empty database by default


@pytest.mark.parametrize(
    ("over", "key", "expected"),
    [
        ({"start_command": []}, "k3s.start_command", "a command when k3s.adapter"),
        ({"start_command": ["k3s", "server"]}, "k3s.start_command[0]", "absolute path"),
        ({"start_command": ["/bin/k3s", ""]}, "k3s.start_command[1]", "non-empty"),
        ({"readyz_port": None}, "k3s.readyz_port", "a TCP port when k3s.adapter"),
        ({"readyz_port": 70000}, "k3s.readyz_port", "0..65535"),
        ({"adapter": "k8s"}, "k3s.adapter", "one of 'disabled', 'process'"),
        ({"kill_after_s": -1}, "k3s.kill_after_s", "seconds in 0..600"),
    ],
)
def test_a_bad_k3s_value_names_its_key(
    tmp_path: Path, over: dict[str, object], key: str, expected: str
) -> None:
    err = _error(tmp_path, _datastore(tmp_path) + _k3s(tmp_path, **over))
    assert err.key == key and expected in str(err), str(err)


def test_k3s_and_litestream_must_mean_the_same_database(tmp_path: Path) -> None:
    extra = _datastore(tmp_path) + _k3s(tmp_path, datastore="/var/lib/other/state.db")
    err = _error(tmp_path, extra)
    assert err.key == "k3s.datastore" and "the file litestream replicates" in err.expected


def test_k3s_managed_needs_its_adapter_and_the_datastore(tmp_path: Path) -> None:
    assert _error(tmp_path, _services(k3s=True)).key == "k3s.adapter"
    err = _error(tmp_path, _k3s(tmp_path, datastore=f"{tmp_path}/db") + _services(k3s=True))
    assert err.key == "datastore.adapter"  # its promotion restores from the replica


def test_gluster_managed_needs_its_adapter(tmp_path: Path) -> None:
    err = _error(tmp_path, _services(gluster=True))
    assert err.key == "gluster.adapter" and "services.gluster" in err.expected


# -- [gluster] --------------------------------------------------------------------------------


def _gluster(tmp: Path, **over: object) -> str:
    values: dict[str, object] = {
        "adapter": "glusterd",
        "volume": "gv0",
        "brick": "10.9.0.1:/data/brick/gv0",
        "brick_path": f"{tmp}/brick/gv0",
        "mount": f"{tmp}/mnt/gv0",
        "quarantine_dir": f"{tmp}/gq",
        "binary": sys.executable,  # an executable file; nothing runs it here
    }
    values.update(over)
    return "\n[gluster]\n" + "".join(
        f"{k} = {_toml(v)}\n" for k, v in values.items() if v is not None
    )


def test_a_gluster_section_is_accepted(tmp_path: Path) -> None:
    config = _config(tmp_path, _gluster(tmp_path) + _services(gluster=True))
    assert config.gluster.adapter == "glusterd" and config.cluster_config().services.gluster


@pytest.mark.parametrize(
    ("over", "key", "expected"),
    [
        ({"volume": None}, "gluster.volume", "a value when gluster.adapter"),
        ({"brick_path": None}, "gluster.brick_path", "a value when gluster.adapter"),
        ({"brick": "/data/brick"}, "gluster.brick", "HOST:/PATH"),
        ({"brick": "host:data"}, "gluster.brick", "HOST:/PATH"),
        ({"mount": "mnt"}, "gluster.mount", "an absolute path"),
        ({"adapter": "nfs"}, "gluster.adapter", "one of 'disabled', 'glusterd'"),
        ({"launcher": ["nsenter", "-n"]}, "gluster.launcher[0]", "absolute path"),
    ],
)
def test_a_bad_gluster_value_names_its_key(
    tmp_path: Path, over: dict[str, object], key: str, expected: str
) -> None:
    err = _error(tmp_path, _gluster(tmp_path, **over))
    assert err.key == key and expected in str(err), str(err)


# -- hacore config check, one bad value per section ----------------------------------------


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ("datastore", "datastore.replica_dir"),
        ("k3s", "k3s.readyz_port"),
        ("services", "gluster.adapter"),
        ("gluster", "gluster.brick"),
        ("witness", "cluster.witness"),
    ],
)
def test_config_check_names_the_bad_key_of_each_section(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], section: str, key: str
) -> None:
    extra = {
        "datastore": _datastore(tmp_path, replica_dir=None),
        "k3s": _datastore(tmp_path) + _k3s(tmp_path, readyz_port=None),
        "services": _services(gluster=True),
        "gluster": _gluster(tmp_path, brick="nohost"),
        "witness": "",
    }[section]
    text = config_text(write_key(tmp_path / "peer.key"), "a", extra)
    if section == "witness":
        text = text.replace(
            'virtual_ip = "10.9.0.250/24"', 'virtual_ip = "10.9.0.250/24"\nwitness = "b"'
        )
    path = tmp_path / "agent.toml"
    path.write_text(text)
    assert main(["config", "check", str(path)]) == 1
    err = capsys.readouterr().err
    assert key in err and "Traceback" not in err, err


def test_config_check_accepts_every_service_section(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = _datastore(tmp_path) + _k3s(tmp_path) + _gluster(tmp_path)
    extra += _services(k3s=True, litestream=True, gluster=True)
    path = tmp_path / "agent.toml"
    path.write_text(config_text(write_key(tmp_path / "peer.key"), "a", extra))
    assert main(["config", "check", str(path)]) == 0, capsys.readouterr().err


# -- the witness ------------------------------------------------------------------------------


def test_a_witness_counts_in_galera_s_size_and_the_core_s_voters(tmp_path: Path) -> None:
    text = config_text(write_key(tmp_path / "peer.key"), "a").replace(
        'virtual_ip = "10.9.0.250/24"', 'virtual_ip = "10.9.0.250/24"\nwitness = "garbd"'
    )
    config = parse_config(text + '\n[galera]\nadapter = "mariadb"\nserver_root = "/srv/db"\n')
    assert config.cluster.galera_members == 3
    assert config.cluster_config().witness == "garbd" and config.cluster_config().voters == 3
    secrets = Secrets(Secret("k", b"x" * 32), None)
    port = mariadb_port(config, secrets, lambda: 0, lambda: 0)
    assert port.cluster_size == 3  # wsrep_cluster_size counts garbd
    without = parse_config(text.replace('\nwitness = "garbd"', ""))
    assert without.cluster.galera_members == 2


# -- the ports built from the sections --------------------------------------------------------


def test_the_agent_builds_the_real_adapters_on_its_own_clock(tmp_path: Path) -> None:
    extra = _datastore(tmp_path) + _k3s(tmp_path) + _services(k3s=True, litestream=True)
    config = _config(tmp_path, extra)

    def clock() -> int:
        return 42

    ds = datastore_port(config, clock)
    k3s = k3s_port(config, clock)
    gluster = gluster_port(_config(tmp_path, _gluster(tmp_path)), clock)
    assert isinstance(ds, LitestreamDatastore) and isinstance(k3s, K3sAdapter)
    assert isinstance(gluster, GlusterPortAdapter)
    assert (gluster.volume, gluster.brick) == ("gv0", "10.9.0.1:/data/brick/gv0")
    # deadlines are instants on the agent's clock: the adapters must read that clock
    assert ds.clock_us is clock and k3s.clock_us is clock and gluster.clock_us is clock
    assert k3s.datastore == ds.database == tmp_path / "k3s" / "state.db"
    for d in ("ls", "q", "k3s-run", "run", "gq"):
        assert (tmp_path / d).stat().st_mode & 0o777 == 0o700


def test_a_state_dir_others_can_write_is_refused(tmp_path: Path) -> None:
    (tmp_path / "ls").mkdir()
    os.chmod(tmp_path / "ls", 0o777)
    config = _config(tmp_path, _datastore(tmp_path) + _services(litestream=True))
    with pytest.raises(ServiceSetupError, match=r"datastore\.state_dir .*writable by group"):
        datastore_port(config, lambda: 0)


def test_a_missing_litestream_binary_is_refused_at_start(tmp_path: Path) -> None:
    config = _config(tmp_path, _datastore(tmp_path, binary=f"{tmp_path}/nope"))
    with pytest.raises(ServiceSetupError, match=r"datastore\.binary .*not an executable"):
        datastore_port(config, lambda: 0)
