"""The simulator's Galera model keeps the behaviours measured on real Galera
(docs/conformance-galera.md holds the side-by-side run)."""

from __future__ import annotations

from sims.galera_model import SECOND, GaleraModel, GaleraTiming


def test_losing_quorum_takes_the_suspect_timeout_not_zero() -> None:
    m = GaleraModel.formed(["n1", "n2"])
    m.kill("n1")
    m.advance(5 * SECOND)
    assert m.status("n2") == ("Primary", 2)  # not yet suspected
    m.advance(6 * SECOND)
    assert m.status("n2") == ("non-Primary", 1)
    assert m.write("n2", 1)[0] == []


def test_commits_stall_during_detection_then_succeed_with_a_majority() -> None:
    m = GaleraModel.formed(["n1", "n2", "n3"])
    m.partition([["n3"]])
    acked, returned = m.write("n1", 2)
    assert len(acked) == 2 and returned == GaleraTiming().suspect_us
    assert m.status("n3") == ("non-Primary", 1)


def test_graceful_stop_leaves_the_peer_primary_and_sets_the_bootstrap_flag_last() -> None:
    m = GaleraModel.formed(["n1", "n2"])
    m.stop("n1")
    assert m.status("n2") == ("Primary", 1)
    g1 = m.member("n1").grastate
    assert g1 is not None and not g1.safe_to_bootstrap and g1.seqno >= 0
    m.stop("n2")
    g2 = m.member("n2").grastate
    assert g2 is not None and g2.safe_to_bootstrap


def test_the_safe_to_bootstrap_gate_and_its_seqno_reset() -> None:
    m = GaleraModel.formed(["n1", "n2"])
    m.write("n1", 3)
    m.kill("n1")
    m.kill("n2")
    assert m.recover("n1") == 3
    m.start("n1", new_cluster=True)
    assert m.status("n1") == ("down", 0) and "not be safe" in m.member("n1").exit_reason
    m.set_safe_to_bootstrap("n1")
    m.start("n1", new_cluster=True, start_position=True)
    m.sleep(SECOND)
    assert m.status("n1") == ("Primary", 1)


def test_two_bootstrapped_primaries_never_merge_and_rejoin_semantics() -> None:
    m = GaleraModel.formed(["n1", "n2"])
    m.partition([["n1"], ["n2"]])
    m.sleep(6 * SECOND)
    m.pc_bootstrap("n1")
    m.pc_bootstrap("n2")
    m.write("n1", 4)
    m.write("n2", 2)
    m.heal()
    m.sleep(5 * SECOND)
    assert m.status("n1") == ("Primary", 1) and m.status("n2") == ("Primary", 1)
    m.stop("n2")  # behind: a plain restart joins by IST with different data
    m.start("n2")
    m.sleep(2 * SECOND)
    assert m.status("n2") == ("Primary", 2) and m.member("n2").last_transfer == "IST"
    assert m.member("n2").history != m.member("n1").history


def test_the_side_ahead_aborts_and_a_forced_sst_takes_the_winners_data() -> None:
    m = GaleraModel.formed(["n1", "n2"])
    m.partition([["n1"], ["n2"]])
    m.sleep(6 * SECOND)
    m.pc_bootstrap("n1")
    m.pc_bootstrap("n2")
    m.write("n1", 4)
    m.write("n2", 2)
    m.heal()
    m.sleep(3 * SECOND)
    m.stop("n1")
    m.start("n1")
    m.sleep(SECOND)
    assert m.status("n1") == ("down", 0) and "Reversing history" in m.member("n1").exit_reason
    m.remove_saved_state("n1")
    m.start("n1")
    m.sleep(5 * SECOND)
    assert m.status("n1") == ("Primary", 2) and m.member("n1").last_transfer == "SST"
    assert m.member("n1").history == m.member("n2").history


def test_garbd_keeps_a_survivor_primary() -> None:
    m = GaleraModel.formed(["n1", "n2"], "w")
    m.kill("n1")
    m.sleep(6 * SECOND)
    assert m.status("n2") == ("Primary", 2)


def test_the_model_is_deterministic() -> None:
    def run() -> list[tuple[str, int]]:
        m = GaleraModel.formed(["n1", "n2", "n3"])
        m.partition([["n1"], ["n2", "n3"]])
        m.write("n2", 3)
        m.sleep(7 * SECOND)
        m.heal()
        m.sleep(2 * SECOND)
        return [m.status(n) for n in ("n1", "n2", "n3")]

    assert run() == run() == [("Primary", 3)] * 3
