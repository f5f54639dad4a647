"""The status verdict and table of the reference status command."""

from __future__ import annotations

from dataclasses import replace

from hacore.roles import Role
from hacore.status import NodeObservation, render_table, verdict

REFERENCE_TABLE = """\
+-----------+---------+--------+---------------+
| Node Name | Role    | Status | IP            |
+-----------+---------+--------+---------------+
| tpvm2     | active  | up     | 10.20.246.102 |
+-----------+---------+--------+---------------+
| tpvm      | standby | up     | 10.20.246.101 |
+-----------+---------+--------+---------------+"""


def healthy_active(
    name: str = "tpvm2", address: str = "10.20.246.102", size: int = 2
) -> NodeObservation:
    return NodeObservation(
        name,
        address,
        True,
        Role.ACTIVE,
        services_ready=True,
        k8s_consistent=True,
        galera_member=True,
        galera_cluster_size=size,
    )


def healthy_standby(
    name: str = "tpvm", address: str = "10.20.246.101", size: int = 2
) -> NodeObservation:
    return NodeObservation(
        name,
        address,
        True,
        Role.STANDBY,
        galera_member=True,
        galera_cluster_size=size,
        reachable_from_active=True,
    )


def test_reference_example_renders_the_reference_table() -> None:
    # The seed's example lists tpvm (standby) first in the input; the active is shown on top.
    result = verdict([healthy_standby(), healthy_active()])
    assert result.healthy
    assert render_table(result) == REFERENCE_TABLE


def test_active_with_a_service_not_ready_is_degraded() -> None:
    obs = healthy_active()
    broken = replace(obs, services_ready=False)
    result = verdict([broken, healthy_standby()])
    (active,) = [n for n in result.nodes if n.name == "tpvm2"]
    assert active.status == "degraded"
    assert "not all enabled services are ready" in active.problems
    assert not result.healthy


def test_active_with_inconsistent_kubernetes_state_is_degraded() -> None:
    obs = healthy_active()
    broken = replace(obs, k8s_consistent=False)
    (active,) = [n for n in verdict([broken]).nodes]
    assert any("Kubernetes" in p for p in active.problems)


def test_standby_unreachable_from_the_active_is_degraded() -> None:
    obs = healthy_standby()
    broken = replace(obs, reachable_from_active=False)
    result = verdict([healthy_active(), broken])
    (standby,) = [n for n in result.nodes if n.name == "tpvm"]
    assert standby.status == "degraded"
    assert "not reachable from the active node" in standby.problems


def test_a_node_outside_galera_is_degraded() -> None:
    obs = healthy_standby()
    broken = replace(obs, galera_member=False)
    (standby,) = [n for n in verdict([healthy_active(), broken]).nodes if n.name == "tpvm"]
    assert "not a Galera cluster member" in standby.problems


def test_galera_cluster_size_must_be_two_when_both_nodes_are_up() -> None:
    result = verdict([healthy_active(size=1), healthy_standby(size=1)])
    assert all("Galera cluster size 1, expected 2" in n.problems for n in result.nodes)


def test_galera_cluster_size_of_one_is_fine_when_the_standby_is_down() -> None:
    down = NodeObservation("tpvm", "10.20.246.101", False, None)
    result = verdict([healthy_active(size=1), down])
    (active,) = [n for n in result.nodes if n.name == "tpvm2"]
    (standby,) = [n for n in result.nodes if n.name == "tpvm"]
    assert active.status == "up" and active.problems == ()
    assert standby.status == "down"
    assert result.problems == ()


def test_no_active_node_is_a_cluster_problem() -> None:
    result = verdict([healthy_standby()])
    assert result.problems == ("no active node",)


def test_two_active_nodes_are_a_cluster_problem() -> None:
    result = verdict([healthy_active("x", "10.0.0.1"), healthy_active("y", "10.0.0.2")])
    assert result.problems == ("more than one active node: x, y",)
    assert "more than one active node: x, y" in render_table(result)


def test_a_node_in_transition_or_without_an_answer_is_degraded() -> None:
    promoting = NodeObservation(
        "p", "10.0.0.3", True, Role.PROMOTING, galera_member=True, galera_cluster_size=2
    )
    silent = NodeObservation("s", "10.0.0.4", True, None, galera_member=True, galera_cluster_size=2)
    result = verdict([promoting, silent])
    by_name = {n.name: n for n in result.nodes}
    assert "in transition (promoting)" in by_name["p"].problems
    assert by_name["s"].role == "unknown" and "agent did not answer" in by_name["s"].problems


def test_problems_are_listed_under_the_table() -> None:
    down = NodeObservation("tpvm", "10.20.246.101", False, None)
    text = render_table(verdict([healthy_active(size=1), down]))
    assert text.splitlines()[-1] == "tpvm: host down"


def test_an_unobserved_fact_is_listed_never_counted_good_or_bad() -> None:
    from hacore.status import NodeObservation as Obs

    active = Obs("a", "10.0.0.1", True, Role.ACTIVE)  # no probe ran for services or Galera
    result = verdict([active])
    (node,) = result.nodes
    assert node.status == "up" and node.problems == ()
    assert node.unobserved == ("services", "kubernetes state", "galera membership")
    assert "a: not observed: services, kubernetes state, galera membership" in render_table(result)
    member = Obs("a", "10.0.0.1", True, Role.ACTIVE, True, True, True, None)
    assert verdict([member]).nodes[0].unobserved == ("galera cluster size",)
    broken = Obs("a", "10.0.0.1", True, Role.ACTIVE, False, None, False)
    assert verdict([broken]).nodes[0].problems == (
        "not all enabled services are ready",
        "not a Galera cluster member",
    )
