"""The bench's pure pieces for this turn's runs: which regions the role session launches, where the campaign's
functions run, and the ratio targets against the headline swarm (a run that was not contained never passes)."""

from __future__ import annotations

from compromise_responder.tools.bench.runs import RunResult, credentials_read
from compromise_responder.tools.bench.scenario import ATTACKED_REGIONS, function_regions, hop_regions
from compromise_responder.tools.bench.targets import clean_regions, versus_swarm


def _run(label: str, wall: float, contained: bool = True) -> RunResult:
    return RunResult.from_json(
        {"label": label, "size": "17 regions x 10", "engine": "responder", "regions": 17, "rogue": 140,
         "latency": 0.1, "wall_s": wall, "cpu_s": 0.0, "emulator_cpu_s": 0.0, "client_cpu_s": 0.0,
         "clients_created": 0, "parsing_cpu_s": 0.0, "key_inactive_s": 0.3, "contained_s": wall,
         "calls": 1, "calls_by_operation": {}, "calls_by_region": {}, "region_done_s": {}, "milestones_s": {},
         "critical_calls": 1, "estimate_s": None, "faults_injected": 0, "error": None,
         "verified": {"key inactive": True, "attacker instances terminated": contained}}
    )  # fmt: skip


def test_the_role_session_launches_half_the_attacked_regions():
    hopped = hop_regions()
    assert set(hopped) < set(ATTACKED_REGIONS) and len(hopped) == len(ATTACKED_REGIONS) // 2
    assert hop_regions(("a", "b", "c", "d")) == ("b", "d")


def test_campaign_functions_spread_over_regions_one_each_first():
    assert function_regions(5, ("a", "b", "c")) == ["a", "b", "c", "a", "b"]
    assert function_regions(2, ()) == []


def test_ratio_target_passes_within_the_limit_and_never_for_an_uncontained_run():
    head = _run("17x10", 4.0)
    assert versus_swarm(head, _run("hop", 5.0), 1.3, "hop").passed is True  # 1.25 x
    assert versus_swarm(head, _run("hop", 5.6), 1.3, "hop").passed is False  # 1.4 x
    missed = versus_swarm(head, _run("hop", 4.0, contained=False), 1.3, "hop")
    assert missed.passed is False and "attacker instances terminated" in missed.note
    assert versus_swarm(None, _run("hop", 4.0), 1.3, "hop").measured == "n/a"


def test_a_clean_region_may_read_each_credential_of_the_chain_twice_and_no_more():
    """One describe per kind, and per credential read (the key, each key of its chain) one lookup for the chain's
    reading and one for the activity summary."""
    describes = {"ec2:DescribeInstances": 1, "ec2:DescribeSpotInstanceRequests": 1, "ec2:DescribeSpotFleetRequests": 1,
                 "ec2:DescribeFleets": 1, "autoscaling:DescribeAutoScalingGroups": 1}  # fmt: skip
    hop = _run("17x10 role hop", 3.4)
    hop.calls_by_region = {"ca-central-1": {**describes, "cloudtrail:LookupEvents": 4}}
    hop.credentials = credentials_read({"chain": [{"credential": "ASIAIOSFODNN7EXAMPLE"}, {"credential": "AROA:x"}]})
    assert hop.credentials == 2
    assert clean_regions([hop]).passed is True
    hop.credentials = 1  # the same calls for a key alone: one lookup too many per credential
    assert clean_regions([hop]).passed is False
    hop.calls_by_region["ca-central-1"] = {**describes, "ec2:DescribeInstances": 2, "cloudtrail:LookupEvents": 2}
    assert clean_regions([hop]).passed is False  # a describe twice
