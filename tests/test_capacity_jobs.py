"""Capacity beyond EC2: jobs (contract "Capacity beyond EC2"), through the real handlers against the emulated account.

SageMaker training, processing and transform jobs the leaked key started are stopped (``Stop...Job``) and
counted by instance type and count; the team's own jobs of each type keep running."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from responder.kinds.prices import sagemaker_hour

from tests.report_truth import assert_truthful
from tools.emulator.capacity import create_sagemaker_job
from tools.emulator.scenarios import LEAKED_KEY, TEAM_KEY, health_event

JOB_TYPES = ("Training", "Processing", "Transform")


def _job_status(aws, region, what, name):
    client = aws.client("sagemaker", region)
    return getattr(client, f"describe_{what.lower()}_job")(**{f"{what}JobName": name})[f"{what}JobStatus"]


@pytest.mark.parametrize("mode", ["enforce", "dry-run"])
def test_sagemaker_jobs_stopped_by_type_and_count_team_jobs_untouched(aws, invoke, mode):
    aws.set_env(RESPONSE_MODE=mode)
    attacker = aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    team = aws.create_user("ml-team", key_id=TEAM_KEY)
    at = datetime.now(UTC) - timedelta(minutes=30)
    rogue = {what: create_sagemaker_job(attacker, "eu-west-1", what, f"miner-{what.lower()}", at=at)[0]
             for what in JOB_TYPES}  # fmt: skip
    for what in JOB_TYPES:  # the team's own job of each type, GPU too, in the window
        create_sagemaker_job(team, "eu-west-1", what, f"team-{what.lower()}", "ml.g5.xlarge", 1, at=at)

    report = invoke("health", health_event(datetime.now(UTC) - timedelta(hours=1)))

    enforce = mode == "enforce"
    for what in JOB_TYPES:
        assert _job_status(aws, "eu-west-1", what, f"miner-{what.lower()}") == ("Stopping" if enforce else "InProgress")
        assert _job_status(aws, "eu-west-1", what, f"team-{what.lower()}") == "InProgress"
    steps = {
        (a["action"], a["target"]): a["status"]
        for a in report["actions"]
        if a["action"] in ("stop-training-job", "stop-processing-job", "stop-transform-job")
    }
    expected = "done" if enforce else "planned"
    assert {k: v for k, v in steps.items() if v != "skipped"} == {
        ("stop-training-job", rogue["Training"]): expected,
        ("stop-processing-job", rogue["Processing"]): expected,
        ("stop-transform-job", rogue["Transform"]): expected,
    }
    assert report["regions"]["eu-west-1"] == "contained"
    # three jobs of 2 x ml.p3.2xlarge each
    assert report["estimatedHourlyCostStopped"] == pytest.approx(3 * sagemaker_hour("ml.p3.2xlarge", 2), abs=0.01)
    assert report["estimatedHourlyCostStopped"] == pytest.approx(3 * 2 * 3.825, abs=0.01)
    assert_truthful(aws, report, aws.notifications())
