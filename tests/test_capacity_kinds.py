"""Capacity beyond EC2 (contract "Capacity beyond EC2"), through the real handlers against the emulated account.

The November 2025 campaign's shape: a leaked key runs miners on EC2 and ECS Fargate in several regions within
minutes, plus a Lambda miner fed by a queue. The team runs its own ECS service and Lambda function."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from responder.kinds import kinds, launch_events
from responder.kinds.prices import CODEBUILD_HOUR, fargate_task_hour, lambda_full_concurrency_hour

from compromise_responder.tools.emulator.capacity import (
    create_compute_environment,
    create_endpoint,
    create_function,
    create_lightsail_instances,
    create_nodegroup,
    create_notebook,
    create_service,
    purchase,
    run_task,
    start_build,
    start_instances,
    start_job_run,
)
from compromise_responder.tools.emulator.cloudtrail import envelope
from compromise_responder.tools.emulator.scenarios import ALLOWED, LEAKED_KEY, TEAM_KEY, health_event
from tests.report_truth import assert_truthful

CAMPAIGN_REGIONS = ("us-east-1", "eu-west-1", "sa-east-1")  # every region of the world, the team's home too
TASKS = 3


def _desired(aws, region, cluster, service):
    return aws.client("ecs", region).describe_services(cluster=cluster, services=[service])["services"][0][
        "desiredCount"
    ]


def _task_desired(aws, region, cluster, tasks):
    described = aws.client("ecs", region).describe_tasks(cluster=cluster, tasks=tasks)["tasks"]
    return {t["desiredStatus"] for t in described}  # moto drifts lastStatus on every describe: desiredStatus holds


def _concurrency(aws, function):
    got = aws.client("lambda", function.region).get_function_concurrency(FunctionName=function.name)
    return got.get("ReservedConcurrentExecutions")


def _mapping_state(aws, function):
    client = aws.client("lambda", function.region)
    return {client.get_event_source_mapping(UUID=u)["State"] for u in function.mappings}


@pytest.fixture
def campaign(aws):
    now = datetime.now(UTC)
    attacker = aws.create_user("ci-deployer", key_id=LEAKED_KEY, last_used=("ecs", "sa-east-1"))
    team = aws.create_user("ml-team", key_id=TEAM_KEY)
    scene = {"attacker": attacker, "notice": now - timedelta(hours=1), "services": [], "instances": {}}
    at = now - timedelta(minutes=90)
    for region in CAMPAIGN_REGIONS:
        scene["instances"][region] = attacker.run_instances(region, "c5.xlarge", 2, at=at).instance_ids
        scene["services"].append(create_service(attacker, region, "miner", TASKS, cluster="work", at=at))
    scene["miner_fn"] = create_function(attacker, "eu-west-1", "thumbnailer", queue=True, at=at)
    scene["team_service"] = create_service(team, "us-east-1", "web", 2, cluster="prod", at=now - timedelta(hours=5))
    scene["team_fn"] = create_function(team, "us-east-1", "resize-images", queue=True, at=now - timedelta(hours=5))
    return scene


def _assert_team_untouched(aws, scene):
    team = scene["team_service"]
    assert _desired(aws, team.region, team.cluster, team.name) == 2
    assert _task_desired(aws, team.region, team.cluster, team.tasks) == {"RUNNING"}
    assert _concurrency(aws, scene["team_fn"]) is None
    assert _mapping_state(aws, scene["team_fn"]) != {"Disabled"}


def test_campaign_ec2_ecs_and_lambda_contained_team_untouched(aws, invoke, campaign):
    report = invoke("health", health_event(campaign["notice"]))

    for service in campaign["services"]:
        assert _desired(aws, service.region, service.cluster, service.name) == 0
        assert _task_desired(aws, service.region, service.cluster, service.tasks) == {"STOPPED"}
        assert report["regions"][service.region] == "contained"
        states = aws.instance_states(service.region)
        assert {states[i] for i in campaign["instances"][service.region]} == {"terminated"}
    fn = campaign["miner_fn"]
    assert _concurrency(aws, fn) == 0 and _mapping_state(aws, fn) == {"Disabled"}
    _assert_team_untouched(aws, campaign)

    actions = report["actions"]
    order = [a["action"] for a in actions if a["status"] == "done"]
    assert order.index("scale-ecs-service-to-zero") < order.index("stop-ecs-task")  # the scheduler first
    assert all(
        "launched by AKIAIOSFODNN7EXAMPLE" in a["reason"] or "runs in rogue ECS service" in a["reason"]
        for a in actions
        if a["status"] == "done" and a["action"] in ("stop-ecs-task", "scale-ecs-service-to-zero", "throttle-function")
    )
    fargate = fargate_task_hour(4, 8) * TASKS * len(CAMPAIGN_REGIONS)
    ec2 = sum(a.get("hourlyCost", 0) for a in actions if a["action"] == "terminate-instance" and a["status"] == "done")
    expected = round(ec2 + fargate + lambda_full_concurrency_hour(3008), 2)
    assert report["estimatedHourlyCostStopped"] == pytest.approx(expected, abs=0.05)
    assert_truthful(aws, report, aws.notifications())


@pytest.mark.regions(*CAMPAIGN_REGIONS, "us-west-2")  # one region more, where the chain made nothing
def test_kinds_beyond_ec2_are_read_only_where_the_chain_made_them_or_attribution_is_unavailable(aws, invoke, campaign):
    """Where LookupEvents answers and names no create call of a kind, nothing of that kind can be rogue there
    (contract "What is rogue"): the sweep does not list it. Where attribution is unavailable, the window rule
    needs every kind read."""
    blind, quiet = "sa-east-1", "us-west-2"  # the chain ran a service in the blind one, nothing in the quiet one
    aws.faults.fail(region=blind, operations=["LookupEvents"], code="AccessDeniedException", status=400)
    report = invoke("health", health_event(campaign["notice"]))

    calls = aws.recorder.calls
    assert calls[("ecs:ListClusters", "eu-west-1")] >= 1 and calls[("lambda:ListFunctions", "eu-west-1")] >= 1
    assert calls[("ecs:ListClusters", quiet)] == 0 and calls[("lambda:ListFunctions", quiet)] == 0
    assert calls[("sagemaker:ListNotebookInstances", quiet)] == 0 and calls[("glue:GetJobs", quiet)] == 0
    assert calls[("ec2:DescribeInstances", quiet)] >= 1  # EC2 is always described (skipped instances listed)
    assert calls[("ecs:ListClusters", blind)] >= 1 and calls[("glue:GetJobs", blind)] >= 1
    assert calls[("lambda:ListFunctions", blind)] >= 1  # every kind read where attribution is unavailable
    assert report["regions"][quiet] == "clean" and report["regions"]["eu-west-1"] == "contained"
    _assert_team_untouched(aws, campaign)


def test_campaign_dry_run_plans_the_same_and_changes_nothing(aws, invoke, campaign):
    event = {"runbook": "contain-access-key", "accessKeyId": LEAKED_KEY, "dryRun": True, "sinceHours": 6}
    plan = invoke("runbook", event)

    planned = {(a["action"], a["target"]) for a in plan["actions"] if a["status"] == "planned"}
    for service in campaign["services"]:
        assert ("scale-ecs-service-to-zero", service.arn) in planned
        assert {("stop-ecs-task", t) for t in service.tasks} <= planned
        assert _desired(aws, service.region, service.cluster, service.name) == TASKS
        assert _task_desired(aws, service.region, service.cluster, service.tasks) == {"RUNNING"}
    assert ("throttle-function", campaign["miner_fn"].arn) in planned
    assert _concurrency(aws, campaign["miner_fn"]) is None
    _assert_team_untouched(aws, campaign)
    assert plan["estimatedHourlyCostStopped"] > lambda_full_concurrency_hour(3008)
    assert_truthful(aws, plan)


def test_window_rule_stops_kinds_outside_allowed_regions_only(aws, invoke):
    """No attribution (a sweep without a key): launched in the window and outside ALLOWED_REGIONS is rogue."""
    aws.set_env(ALLOWED_REGIONS=ALLOWED)
    someone = aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    at = datetime.now(UTC) - timedelta(hours=1)
    rogue = create_service(someone, "sa-east-1", "miner", 2, cluster="work", at=at)
    rogue_fn = create_function(someone, "sa-east-1", "worker", at=at)
    tasks = run_task(someone, "sa-east-1", 2, cluster="batch", at=at)
    team = create_service(someone, "eu-west-1", "web", 2, cluster="prod", at=at)
    team_fn = create_function(someone, "us-east-1", "api", at=at)

    report = invoke("runbook", {"runbook": "sweep-regions", "sinceHours": 6})

    assert _desired(aws, "sa-east-1", rogue.cluster, rogue.name) == 0
    assert _task_desired(aws, "sa-east-1", rogue.cluster, rogue.tasks) == {"STOPPED"}
    assert _task_desired(aws, "sa-east-1", tasks.cluster, tasks.tasks) == {"STOPPED"}
    assert _concurrency(aws, rogue_fn) == 0
    assert _desired(aws, "eu-west-1", team.cluster, team.name) == 2
    assert _concurrency(aws, team_fn) is None
    skipped = {a["target"] for a in report["actions"] if a["status"] == "skipped"}
    assert team.arn in skipped and team_fn.arn in skipped  # looked at closely (in the window), left alone
    assert all("outside ALLOWED_REGIONS" in a["reason"] for a in report["actions"] if a["status"] == "done")
    assert_truthful(aws, report)


def test_protect_tag_keeps_a_kind_untouched_without_attribution(aws, invoke):
    aws.set_env(ALLOWED_REGIONS=ALLOWED)
    someone = aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    at = datetime.now(UTC) - timedelta(hours=1)
    kept = create_service(
        someone, "sa-east-1", "batch", 1, cluster="work", at=at, tags={"compromise-responder:protect": "true"}
    )

    report = invoke("runbook", {"runbook": "sweep-regions", "sinceHours": 6})

    assert _desired(aws, "sa-east-1", kept.cluster, kept.name) == 1
    assert report["regions"]["sa-east-1"] == "clean"


@pytest.mark.parametrize("mode", ["enforce", "dry-run"])
def test_launch_watcher_contains_a_kind_outside_allowed_regions(aws, invoke, mode):
    aws.set_env(ALLOWED_REGIONS=ALLOWED, RESPONSE_MODE=mode)
    someone = aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    service = create_service(someone, "sa-east-1", "miner", 2, cluster="work")
    fn = create_function(someone, "sa-east-1", "miner")
    team = create_function(someone, "us-east-1", "api")

    service_report = invoke("cloudtrail", service.event)
    fn_report = invoke("cloudtrail", fn.event)
    team_report = invoke("cloudtrail", team.event)

    enforce = mode == "enforce"
    assert _desired(aws, "sa-east-1", service.cluster, service.name) == (0 if enforce else 2)
    assert _task_desired(aws, "sa-east-1", service.cluster, service.tasks) == {"STOPPED" if enforce else "RUNNING"}
    assert _concurrency(aws, fn) == (0 if enforce else None)
    assert _concurrency(aws, team) is None and team_report["actions"] == []
    status = "done" if enforce else "planned"
    assert {(a["action"], a["status"]) for a in service_report["actions"]} >= {
        ("scale-ecs-service-to-zero", status),
        ("stop-ecs-task", status),
    }
    assert [(a["action"], a["status"]) for a in fn_report["actions"]] == [("throttle-function", status)]
    for report in (service_report, fn_report):
        assert_truthful(aws, report)


def test_launch_watcher_contains_a_kind_made_by_a_credential_under_open_incident(aws, invoke):
    attacker = aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    invoke("health", health_event(datetime.now(UTC) - timedelta(hours=1)))  # opens the incident; nothing running yet
    tasks = run_task(attacker, "us-east-1", 2, cluster="work")  # the key was used before the door closed

    report = invoke("cloudtrail", tasks.event)

    assert _task_desired(aws, "us-east-1", tasks.cluster, tasks.tasks) == {"STOPPED"}
    assert {a["action"] for a in report["actions"] if a["status"] == "done"} == {"stop-ecs-task"}


def test_failed_kind_call_is_recorded_only_and_malformed_one_names_the_field(aws, invoke):
    someone = aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    fn = create_function(someone, "sa-east-1", "miner")
    failed = dict(fn.event["detail"], errorCode="AccessDenied", responseElements=None)
    assert invoke("cloudtrail", envelope(failed))["actions"] == []
    assert _concurrency(aws, fn) is None and aws.notifications() == []
    broken = dict(fn.event["detail"], responseElements={"functionArn": "not-an-arn"})
    with pytest.raises(ValueError, match=r"detail\.responseElements\.functionArn"):
        invoke("cloudtrail", envelope(broken))


def _stopped_team_boxes(aws, team, region, count):
    ids = team.run_instances(region, "p3.2xlarge", count, at=datetime.now(UTC) - timedelta(days=20)).instance_ids
    aws.client("ec2", region).stop_instances(InstanceIds=ids)
    return ids


@pytest.mark.parametrize("mode", ["enforce", "dry-run"])
def test_instances_the_key_started_are_stopped_not_terminated(aws, invoke, mode):
    aws.set_env(RESPONSE_MODE=mode)
    attacker = aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    team = aws.create_user("ml-team", key_id=TEAM_KEY)
    started, kept = _stopped_team_boxes(aws, team, "eu-west-1", 2)
    start_instances(attacker, "eu-west-1", [started], at=datetime.now(UTC) - timedelta(minutes=30))
    start_instances(team, "eu-west-1", [kept], at=datetime.now(UTC) - timedelta(minutes=20))  # the team's own

    report = invoke("health", health_event(datetime.now(UTC) - timedelta(hours=1)))

    states = aws.instance_states("eu-west-1")
    assert states[started] == ("stopped" if mode == "enforce" else "running")
    assert states[kept] == "running"
    [step] = [a for a in report["actions"] if a["target"] == started and a["status"] != "skipped"]
    assert step["action"] == "stop-instance" and step["status"] == ("done" if mode == "enforce" else "planned")
    assert not [a for a in report["actions"] if a["action"] == "terminate-instance" and a["status"] != "skipped"]
    assert report["estimatedHourlyCostStopped"] == pytest.approx(3.06)
    assert_truthful(aws, report, aws.notifications())


def test_launch_watcher_stops_an_instance_started_under_an_open_incident(aws, invoke):
    attacker = aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    team = aws.create_user("ml-team", key_id=TEAM_KEY)
    [box] = _stopped_team_boxes(aws, team, "sa-east-1", 1)
    invoke("health", health_event(datetime.now(UTC) - timedelta(hours=1)))

    report = invoke("cloudtrail", start_instances(attacker, "sa-east-1", [box]))

    assert aws.instance_states("sa-east-1")[box] == "stopped"
    assert [(a["action"], a["status"]) for a in report["actions"]] == [("stop-instance", "done")]


@pytest.mark.parametrize("mode", ["enforce", "dry-run"])
def test_sagemaker_notebook_stopped_and_endpoint_deleted_keeping_its_model(aws, invoke, mode):
    aws.set_env(RESPONSE_MODE=mode)
    attacker = aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    team = aws.create_user("ml-team", key_id=TEAM_KEY)
    at = datetime.now(UTC) - timedelta(minutes=40)
    notebook, _ = create_notebook(attacker, "sa-east-1", "miner-notebook", at=at)
    endpoint, _ = create_endpoint(attacker, "sa-east-1", "miner-endpoint", at=at)
    create_notebook(team, "sa-east-1", "research", at=at)
    create_endpoint(team, "sa-east-1", "recommendations", at=at)

    report = invoke("health", health_event(datetime.now(UTC) - timedelta(hours=1)))

    client = aws.client("sagemaker", "sa-east-1")
    status = {
        n["NotebookInstanceName"]: n["NotebookInstanceStatus"]
        for n in client.list_notebook_instances()["NotebookInstances"]
    }
    endpoints = {e["EndpointName"] for e in client.list_endpoints()["Endpoints"]}
    enforce = mode == "enforce"
    assert status == {"miner-notebook": "Stopped" if enforce else "InService", "research": "InService"}
    assert endpoints == ({"recommendations"} if enforce else {"recommendations", "miner-endpoint"})
    assert client.describe_endpoint_config(EndpointConfigName="miner-endpoint-config")  # the configuration is kept
    done = {
        (a["action"], a["target"]): a for a in report["actions"] if a["status"] == ("done" if enforce else "planned")
    }
    assert {k for k in done if k[0] != "deactivate-access-key" and k[0] != "quarantine-user"} == {
        ("stop-notebook-instance", notebook),
        ("delete-sagemaker-endpoint", endpoint),
    }
    assert report["regions"]["sa-east-1"] == "contained"
    assert report["estimatedHourlyCostStopped"] == pytest.approx(
        3.825 * 3, abs=0.01
    )  # a notebook and two endpoint instances
    assert "model and endpoint configuration" in aws.notifications()[-1].summary if enforce else True
    assert_truthful(aws, report, aws.notifications())


@pytest.mark.parametrize("mode", ["enforce", "dry-run"])
def test_eks_node_group_scaled_to_zero_team_group_untouched(aws, invoke, mode):
    aws.set_env(RESPONSE_MODE=mode)
    attacker = aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    team = aws.create_user("ml-team", key_id=TEAM_KEY)
    at = datetime.now(UTC) - timedelta(minutes=30)
    rogue, _ = create_nodegroup(attacker, "sa-east-1", "platform", "miners", at=at)
    create_nodegroup(team, "sa-east-1", "platform", "workers", "m5.large", 3, at=at)

    report = invoke("health", health_event(datetime.now(UTC) - timedelta(hours=1)))

    eks = aws.client("eks", "sa-east-1")
    sizes = {n: eks.describe_nodegroup(clusterName="platform", nodegroupName=n)["nodegroup"]["scalingConfig"]["desiredSize"]
             for n in ("miners", "workers")}  # fmt: skip
    assert sizes == {"miners": 0 if mode == "enforce" else 4, "workers": 3}
    [step] = [a for a in report["actions"] if a["action"] == "scale-nodegroup-to-zero" and a["status"] != "skipped"]
    assert step["target"] == rogue and step["status"] == ("done" if mode == "enforce" else "planned")
    assert report["estimatedHourlyCostStopped"] == pytest.approx(1.006 * 4, abs=0.01)
    assert_truthful(aws, report, aws.notifications())


@pytest.mark.parametrize("mode", ["enforce", "dry-run"])
def test_batch_compute_environment_disabled_team_one_untouched(aws, invoke, mode):
    aws.set_env(RESPONSE_MODE=mode)
    attacker = aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    team = aws.create_user("ml-team", key_id=TEAM_KEY)
    rogue, _ = create_compute_environment(attacker, "sa-east-1", "miners", at=datetime.now(UTC) - timedelta(minutes=30))
    create_compute_environment(team, "sa-east-1", "nightly", at=datetime.now(UTC) - timedelta(minutes=30))

    report = invoke("health", health_event(datetime.now(UTC) - timedelta(hours=1)))

    found = aws.client("batch", "sa-east-1").describe_compute_environments()["computeEnvironments"]
    states = {e["computeEnvironmentName"]: e["state"] for e in found}
    assert states == {"miners": "DISABLED" if mode == "enforce" else "ENABLED", "nightly": "ENABLED"}
    [step] = [a for a in report["actions"] if a["action"] == "disable-compute-environment"]
    assert step["target"] == rogue and step["status"] == ("done" if mode == "enforce" else "planned")
    assert report["regions"]["sa-east-1"] == "contained"
    assert_truthful(aws, report, aws.notifications())


@pytest.mark.parametrize("mode", ["enforce", "dry-run"])
def test_lightsail_instances_stopped_team_one_untouched(aws, invoke, mode):
    aws.set_env(RESPONSE_MODE=mode)
    attacker = aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    team = aws.create_user("ml-team", key_id=TEAM_KEY)
    at = datetime.now(UTC) - timedelta(minutes=30)
    create_lightsail_instances(attacker, "eu-west-1", ["node-1", "node-2"], at=at)
    create_lightsail_instances(team, "eu-west-1", ["blog"], "small_3_0", at=at)

    report = invoke("health", health_event(datetime.now(UTC) - timedelta(hours=1)))

    states = {name: i["state"]["name"] for (_region, name), i in aws.lightsail.instances.items()}
    stopped = "stopped" if mode == "enforce" else "running"
    assert states == {"node-1": stopped, "node-2": stopped, "blog": "running"}
    steps = {a["target"]: a["status"] for a in report["actions"] if a["action"] == "stop-lightsail-instance"}
    assert steps == {
        **dict.fromkeys(("node-1", "node-2"), "done" if mode == "enforce" else "planned"),
        "blog": "skipped",
    }
    assert report["estimatedHourlyCostStopped"] == pytest.approx(2 * 84 / 730, abs=0.01)
    assert_truthful(aws, report, aws.notifications())


@pytest.mark.parametrize("mode", ["enforce", "dry-run"])
def test_codebuild_builds_stopped_team_build_untouched(aws, invoke, mode):
    aws.set_env(RESPONSE_MODE=mode)
    attacker = aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    team = aws.create_user("ml-team", key_id=TEAM_KEY)
    rogue, _ = start_build(attacker, "sa-east-1", "miner", at=datetime.now(UTC) - timedelta(minutes=20))
    team_build, _ = start_build(team, "sa-east-1", "release", gpu=False, at=datetime.now(UTC) - timedelta(minutes=10))

    report = invoke("health", health_event(datetime.now(UTC) - timedelta(hours=1)))

    builds = aws.client("codebuild", "sa-east-1").batch_get_builds(ids=[rogue, team_build])["builds"]
    status = {b["id"]: b["buildStatus"] for b in builds}
    assert status == {rogue: "STOPPED" if mode == "enforce" else "IN_PROGRESS", team_build: "IN_PROGRESS"}
    [step] = [a for a in report["actions"] if a["action"] == "stop-build" and a["status"] != "skipped"]
    assert step["target"] == rogue and step["status"] == ("done" if mode == "enforce" else "planned")
    compute = next(b["environment"]["computeType"] for b in builds if b["id"] == rogue)  # moto: always SMALL
    assert report["estimatedHourlyCostStopped"] == pytest.approx(CODEBUILD_HOUR[compute])
    assert_truthful(aws, report, aws.notifications())


@pytest.mark.parametrize("mode", ["enforce", "dry-run"])
def test_glue_job_runs_stopped_team_run_untouched(aws, invoke, mode):
    aws.set_env(RESPONSE_MODE=mode)
    attacker = aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    team = aws.create_user("ml-team", key_id=TEAM_KEY)
    rogue, _ = start_job_run(attacker, "sa-east-1", "etl-miner", at=datetime.now(UTC) - timedelta(minutes=20))
    team_run, _ = start_job_run(team, "sa-east-1", "nightly-etl", at=datetime.now(UTC) - timedelta(minutes=10))

    report = invoke("health", health_event(datetime.now(UTC) - timedelta(hours=1)))

    glue = aws.client("glue", "sa-east-1")
    state = {
        r["Id"]: r["JobRunState"]
        for job in ("etl-miner", "nightly-etl")
        for r in glue.get_job_runs(JobName=job)["JobRuns"]
    }
    assert state == {rogue: "STOPPED" if mode == "enforce" else "RUNNING", team_run: "RUNNING"}
    [step] = [a for a in report["actions"] if a["action"] == "stop-glue-job-run" and a["status"] != "skipped"]
    assert step["target"] == rogue and step["status"] == ("done" if mode == "enforce" else "planned")
    assert report["estimatedHourlyCostStopped"] == pytest.approx(20 * 0.44)  # 10 G.2X workers = 20 DPUs
    assert_truthful(aws, report, aws.notifications())


def test_purchases_are_critical_and_left_for_aws_support(aws, invoke):
    attacker = aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    at = datetime.now(UTC) - timedelta(minutes=30)
    for what in ("reserved-instances", "savings-plan", "bedrock-agreement"):
        purchase(attacker, what, at=at)

    report = invoke("health", health_event(datetime.now(UTC) - timedelta(hours=1)))

    listed = {a["target"]: a for a in report["actions"] if a["action"] == "review-purchase"}
    assert set(listed) == {
        "af9f760e-6f91-4559-85f7-4980eexample",
        "sp-0123456789abcdef0",
        "anthropic.claude-3-opus-20240229-v1:0",
    }
    assert all(a["status"] == "skipped" and "AWS Support" in a["reason"] for a in listed.values())
    assert report["severity"] == "critical"
    summary = aws.notifications()[-1].summary
    assert "sp-0123456789abcdef0" in summary and "AWS Support" in summary
    assert_truthful(aws, report, aws.notifications())


def test_launch_watcher_lists_a_purchase_under_an_open_incident(aws, invoke):
    attacker = aws.create_user("ci-deployer", key_id=LEAKED_KEY)
    invoke("health", health_event(datetime.now(UTC) - timedelta(hours=1)))

    report = invoke("cloudtrail", purchase(attacker, "savings-plan"))

    assert [(a["action"], a["status"]) for a in report["actions"]] == [("review-purchase", "skipped")]
    assert "AWS Support" in report["actions"][0]["reason"]


def test_every_kind_declares_its_calls_probe_and_stops():
    assert {"CreateService", "RunTask", "CreateFunction20150331"} <= launch_events()
    for kind in kinds():
        assert kind.create_events and kind.event_source.endswith(".amazonaws.com") and kind.price_source
        if kind.needs_human:  # a purchase: nothing to read or stop, listed for a human
            assert kind.describe is None and not kind.actions
            continue
        assert kind.describe is not None and kind.describe.key.startswith("read:") and kind.actions
        assert all(a.stops_capacity for a in kind.actions)
