"""The campaign file: the matrix it expands to, the shards and their seeds, and
the clear errors for what it must not say."""

from __future__ import annotations

import pytest

from hacli.campaign.config import CampaignConfigError, parse_campaign, shard_seed

MATRIX = """
[campaign]
seed = 7
shard_examples = 10
[budget]
schedules = 95
[matrix]
nodes = [2, 3]
witness = [false, true]
policies = ["vrrp-winner", "highest-epoch"]
modes = ["safety-first"]
[matrix.fault_weights.default]
[matrix.fault_weights.crashy]
crash = 3
diskfull = 0
"""


def test_matrix_is_every_combination_and_shards_round_robin() -> None:
    campaign = parse_campaign(MATRIX)
    assert len(campaign.configurations) == 2 * 2 * 2 * 1 * 2
    keys = [c.key for c in campaign.configurations]
    assert len(set(keys)) == len(keys)
    crashy = next(c for c in campaign.configurations if c.weights_name == "crashy")
    assert dict(crashy.weights) == {"crash": 3, "diskfull": 0}
    shards = list(campaign.shards())
    assert campaign.total_shards == len(shards) == 10  # 95 schedules / 10 per shard, rounded up
    assert [s.config.key for s in shards[:8]] == keys[:8]  # one of each before any second
    assert len({s.shard_id for s in shards}) == len(shards)


def test_shard_seeds_depend_only_on_campaign_seed_config_and_number() -> None:
    a = list(parse_campaign(MATRIX).shards())
    b = list(parse_campaign(MATRIX.replace("schedules = 95", "schedules = 200")).shards())
    assert [s.seed for s in a] == [s.seed for s in b[: len(a)]]
    assert a[0].seed == shard_seed(7, a[0].config.key, 0)
    other = list(parse_campaign(MATRIX.replace("seed = 7", "seed = 8")).shards())
    assert [s.seed for s in a] != [s.seed for s in other[: len(a)]]


def test_wall_budget_alone_gives_an_endless_plan() -> None:
    campaign = parse_campaign("[budget]\nwall_s = 60\n")
    assert campaign.total_shards is None
    plan = campaign.shards()
    assert len([next(plan) for _ in range(50)]) == 50


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[campaign]\nseed = 1\n", "budget"),
        ("[budget]\nschedules = 0\n", "schedules must be an integer"),
        ("[budget]\nschedules = 5\n[matrix]\npolicies = ['coin-flip']\n", "policy 'coin-flip'"),
        ("[budget]\nschedules = 5\n[matrix]\nnodes = [1]\n", "nodes must be an integer in 2..7"),
        ("[budget]\nschedules = 5\n[matrix]\nnodes = []\n", "non-empty list"),
        ("[budget]\nschedules = 5\n[matrix]\nnodez = [2]\n", "unknown key nodez"),
        ("[budgets]\nschedules = 5\n", "unknown section"),
        ("[budget]\nschedules = 5\n[matrix.fault_weights.x]\nmeteor = 1\n", "no rule 'meteor'"),
        ("[budget]\nschedules = 5\n[matrix.fault_weights.x]\ncrash = 11\n", "0..10"),
        ("[budget]\nschedules = 'many'\n", "integer"),
        ("[budget\n", "not valid TOML"),
    ],
)
def test_bad_campaign_files_get_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(CampaignConfigError, match=message):
        parse_campaign(text)
