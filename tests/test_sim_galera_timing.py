"""The simulator's Galera fake takes real Galera's loss detection: after the standby's
crash the active's component stands for the suspect timeout with its commits stalled,
then goes non-Primary (docs/conformance-galera.md measured 6.0-6.3 s on the lab)."""

from __future__ import annotations

from sims.galera_model import GaleraTiming
from sims.run import make_simulation


def test_a_crash_is_perceived_after_the_suspect_timeout_and_commits_stall_meanwhile() -> None:
    sim = make_simulation("standby-crash", 1)
    sim.start()
    seen: list[tuple[int, bool, bool, bool]] = []
    t = 0
    while t < 40_000_000:
        sim.run_until(t)
        n1 = sim.data[0]
        seen.append((t, n1.g_primary, sim.galera.is_stalled(n1), sim.writable(n1)))
        t += 100_000
    crash = next(t for t, _who, what in sim.timeline if what == "fault crash n2")
    before = [s for s in seen if crash - 1_000_000 <= s[0] < crash]
    assert before and all(p and w for _, p, _, w in before)  # the active wrote before
    stalled = [s for s in seen if s[2]]
    assert stalled and all(p and not w for _, p, _, w in stalled)  # primary, yet no commit
    start, end = stalled[0][0], stalled[-1][0]
    suspect = GaleraTiming().suspect_us
    assert crash <= start <= crash + 200_000
    assert suspect - 300_000 <= end - crash <= suspect
    after = [s for s in seen if s[0] > crash + suspect + 100_000]
    assert after and not after[0][1]  # then non-Primary (two nodes, one left)
