"""Capacity beyond EC2: jobs (contract "Capacity beyond EC2"), through the real handlers against the emulated account.

SageMaker training, processing and transform jobs the leaked key started are stopped (``Stop...Job``) and
counted by instance type and count; Batch jobs of a rogue compute environment's queues, and the ones the key
submitted to the team's queue, are terminated after the environment is disabled. The team's own jobs keep
running."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from responder.kinds.prices import sagemaker_hour

from compromise_responder.tools.emulator.capacity import (
    create_compute_environment,
    create_sagemaker_job,
    submit_batch_job,
)
from compromise_responder.tools.emulator.scenarios import LEAKED_KEY, TEAM_KEY, health_event
from tests.report_truth import assert_truthful

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


@pytest.mark.parametrize("mode", ["enforce", "dry-run"])
def test_batch_jobs_of_rogue_environment_and_of_the_key_terminated_after_it_is_disabled(aws, invoke, mode):
    aws.set_env(RESPONSE_MODE=mode)
    attacker = aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    team = aws.create_user("ml-team", key_id=TEAM_KEY)
    at = datetime.now(UTC) - timedelta(minutes=30)
    rogue_env, _ = create_compute_environment(attacker, "sa-east-1", "miners", at=at)
    team_env, _ = create_compute_environment(team, "sa-east-1", "nightly", at=at)
    in_rogue, _ = submit_batch_job(attacker, "sa-east-1", "miners-queue", "miner-1", environment=rogue_env, at=at)
    # a job in the rogue environment's queue is stopped with it, whoever submitted it
    other_in_rogue, _ = submit_batch_job(team, "sa-east-1", "miners-queue", "stray-1", environment=rogue_env, at=at)
    # the key's job in the team's queue: the team's environment stays, the key's job does not
    in_team_queue, _ = submit_batch_job(attacker, "sa-east-1", "nightly-queue", "miner-2", environment=team_env, at=at)
    team_job, _ = submit_batch_job(team, "sa-east-1", "nightly-queue", "nightly-report", environment=team_env, at=at)

    report = invoke("health", health_event(datetime.now(UTC) - timedelta(hours=1)))

    enforce = mode == "enforce"
    batch = aws.client("batch", "sa-east-1")
    ids = {arn.rsplit("/", 1)[1]: arn for arn in (in_rogue, other_in_rogue, in_team_queue, team_job)}
    jobs = {ids[j["jobId"]]: j for j in batch.describe_jobs(jobs=list(ids))["jobs"]}
    stopped = "FAILED" if enforce else "RUNNING"
    assert {arn: j["status"] for arn, j in jobs.items()} == {
        in_rogue: stopped,
        other_in_rogue: stopped,
        in_team_queue: stopped,
        team_job: "RUNNING",
    }
    if enforce:  # the reason AWS records names the incident
        assert all(report["incidentId"] in jobs[a]["statusReason"] for a in (in_rogue, other_in_rogue, in_team_queue))
    states = {
        e["computeEnvironmentName"]: e["state"] for e in batch.describe_compute_environments()["computeEnvironments"]
    }
    assert states == {"miners": "DISABLED" if enforce else "ENABLED", "nightly": "ENABLED"}
    expected = "done" if enforce else "planned"
    steps = [
        (a["action"], a["target"], a["status"])
        for a in report["actions"]
        if a["action"].endswith(("-environment", "-batch-job"))
    ]
    assert steps[0] == ("disable-compute-environment", rogue_env, expected)  # disabled first, then its jobs
    assert sorted(steps[1:]) == sorted(
        ("terminate-batch-job", arn, expected) for arn in (in_rogue, other_in_rogue, in_team_queue)
    )
    assert report["regions"]["sa-east-1"] == "contained"
    assert_truthful(aws, report, aws.notifications())


def test_launch_watcher_stops_jobs_made_by_a_credential_under_open_incident(aws, invoke):
    attacker = aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    team = aws.create_user("ml-team", key_id=TEAM_KEY)
    environment, _ = create_compute_environment(team, "us-east-1", "nightly")
    invoke("health", health_event(datetime.now(UTC) - timedelta(hours=1)))  # opens the incident; nothing running yet
    training, training_event = create_sagemaker_job(attacker, "us-east-1", "Training", "late-miner")
    job, job_event = submit_batch_job(attacker, "us-east-1", "nightly-queue", "late-miner", environment=environment)

    reports = [invoke("cloudtrail", training_event), invoke("cloudtrail", job_event)]

    assert _job_status(aws, "us-east-1", "Training", "late-miner") == "Stopping"
    [described] = aws.client("batch", "us-east-1").describe_jobs(jobs=[job.rsplit("/", 1)[1]])["jobs"]
    assert described["status"] == "FAILED" and reports[1]["incidentId"] in described["statusReason"]
    assert [(a["action"], a["target"], a["status"]) for r in reports for a in r["actions"]] == [
        ("stop-training-job", training, "done"),
        ("terminate-batch-job", job, "done"),
    ]
    for report in reports:
        assert_truthful(aws, report)
