"""The litestream conformance cases (hacli/conformance_litestream.py): the fake
runs them all; the real binary runs the scripted ones and must give the same
outcome words. Loss-window medians are compared only by the script
(scripts/conformance_litestream.py -> docs/conformance-litestream.md), never
asserted here: they are timings."""

from __future__ import annotations

import random
from contextlib import closing

from litestream_helpers import litestream_binary

from hacli.conformance_litestream import (
    CASES,
    KILL_SETTINGS,
    FakeDriver,
    RealDriver,
    kill_during_writes,
    run_all,
)


def test_the_fake_runs_every_case_and_loses_at_most_one_interval() -> None:
    results = run_all(None, fake_trials=20)
    assert {r.name for r in results} >= {c.name for c in CASES}
    for r in results:
        assert r.fake and not r.error, r.name
        assert "False" not in " ".join(r.fake.values()), (r.name, r.fake)
    kills = [r for r in results if r.name.startswith("kill-during-writes")]
    assert len(kills) == len(KILL_SETTINGS)
    assert all(len(set(r.fake_windows)) > 1 for r in kills), "the lag is not drawn"


def test_real_litestream_gives_the_fakes_outcome_words_on_the_scripted_cases() -> None:
    binary = litestream_binary()
    for case in CASES:
        with closing(FakeDriver(1, case.monitor_ms)) as fake:
            expected = case.run(fake)
        with closing(RealDriver(binary, case.monitor_ms)) as real:
            got = case.run(real)
        assert got == expected, case.name


def test_a_sigkill_of_real_replicate_leaves_a_clean_prefix_like_the_fake() -> None:
    binary = litestream_binary()
    with closing(RealDriver(binary, 100)) as real:
        words, _window = kill_during_writes(real, 100, random.Random(7))
    with closing(FakeDriver(7, 100)) as fake:
        expected, _ = kill_during_writes(fake, 100, random.Random(7))
    # The window bound is a timing (a loaded machine may stretch it): not asserted.
    timing = "loss window within one monitor interval + 0.25 s"
    words.pop(timing)
    expected.pop(timing)
    assert words == expected
