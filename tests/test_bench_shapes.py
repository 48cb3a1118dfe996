"""The bench's pure pieces for this turn's runs: which regions the role session launches, where the campaign's
functions run, and the ratio targets against the headline swarm (a run that was not contained never passes)."""

from __future__ import annotations

from compromise_responder.tools.bench.runs import RunResult
from compromise_responder.tools.bench.scenario import ATTACKED_REGIONS, function_regions, hop_regions
from compromise_responder.tools.bench.targets import versus_swarm


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
