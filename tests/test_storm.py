"""The storm, with real concurrency: Health, GuardDuty and four launch events (three regions, two launch watchers
racing in one) about one leaked key, all at once, each handler in its own process (as each Lambda invocation is),
against moto in server mode.

One incident, one containment (one UpdateAccessKey, one quarantine), every rogue instance stopped, at most
three pages, and no page that AWS's final state contradicts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
from responder.actions.iam import DENY_ALL, QUARANTINE_POLICY_NAME
from responder.core.table_keys import TABLES, create_table_request

from compromise_responder.tools.emulator import AMI
from compromise_responder.tools.emulator.cloudtrail import EmulatedCloudTrail, Identity, cloudtrail_detail
from compromise_responder.tools.emulator.scenarios import LEAKED_KEY, health_event, load_event
from compromise_responder.tools.moto_server import MotoServer

ROOT = Path(__file__).resolve().parent.parent
HOME = "us-east-1"
REGIONS = ("us-east-1", "us-west-2", "eu-west-1")
# Two launch watchers racing in the home region, one in each other region: with Health and GuardDuty, six handlers at
# once on two cores (fourteen proved nothing more and took four times as long)
LAUNCHES = ("us-east-1", "us-east-1", "us-west-2", "eu-west-1")
USER = "ci-deployer"


class Account:
    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint

    def client(self, service: str, region: str = HOME) -> Any:
        return boto3.client(
            service,
            region_name=region,
            endpoint_url=self.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


def set_up(account: Account) -> dict[str, str]:
    """The stack's tables and topic (with the team's inbox queue), as the deployed function's environment."""
    env: dict[str, str] = {}
    dynamodb = account.client("dynamodb")
    for logical, spec in TABLES.items():
        name = f"compromise-responder-{logical}"
        dynamodb.create_table(**create_table_request(logical, name))
        env[spec["env"]] = name
    topic = account.client("sns").create_topic(Name="compromise-responder-team")["TopicArn"]
    sqs = account.client("sqs")
    inbox = sqs.create_queue(QueueName="team-inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    account.client("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn)
    quarantine = account.client("iam").create_policy(
        PolicyName=QUARANTINE_POLICY_NAME, PolicyDocument=json.dumps(DENY_ALL)
    )
    return env | {"NOTIFY_TOPIC_ARN": topic, "INBOX": inbox, "QUARANTINE_POLICY_ARN": quarantine["Policy"]["Arn"]}


def launch(account: Account, trail: EmulatedCloudTrail, who: Identity, region: str) -> tuple[str, dict[str, Any]]:
    """The attacker's g5.48xlarge and the CloudTrail event the launch watcher receives for it."""
    ec2 = account.client("ec2", region)
    resp = ec2.run_instances(ImageId=AMI, InstanceType="g5.48xlarge", MinCount=1, MaxCount=1)
    instance = resp["Instances"][0]["InstanceId"]
    request = {
        "instancesSet": {"items": [{"imageId": AMI, "minCount": 1, "maxCount": 1}]},
        "instanceType": "g5.48xlarge",
    }
    response = {
        "reservationId": resp["ReservationId"],
        "instancesSet": {"items": [{"instanceId": instance, "imageId": AMI, "instanceType": "g5.48xlarge"}]},
    }
    detail = cloudtrail_detail(who, "RunInstances", "ec2.amazonaws.com", region, request, response)
    return instance, trail.record(detail)


def pages(account: Account, inbox: str) -> list[dict[str, Any]]:
    sqs = account.client("sqs")
    out: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return out
        for message in messages:
            out.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=inbox, ReceiptHandle=message["ReceiptHandle"])


def start(
    events: list[tuple[str, dict[str, Any]]], workdir: Path, env: dict[str, str], go: Path
) -> tuple[list[Path], Any]:
    """One fork server: it imports the handlers once, then each event is handled in a child process of its own."""
    args, results = [], []
    for handler, event in events:
        name = f"{handler}-{uuid.uuid4().hex[:8]}"
        event_file, result = workdir / f"{name}.json", workdir / f"{name}.result.json"
        event_file.write_text(json.dumps(event))
        args += [handler, str(event_file), str(result)]
        results.append(result)
    log = (workdir / "workers.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.storm_worker", str(go), *args],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    return results, process


def test_storm_of_triggers_in_separate_processes_makes_one_incident_and_few_pages(tmp_path):
    with MotoServer(tmp_path) as server:
        account = Account(server.endpoint)
        env = set_up(account)
        iam = account.client("iam")
        iam.create_user(UserName=USER)
        key = iam.create_access_key(UserName=USER)["AccessKey"]["AccessKeyId"]  # moto's id: any AKIA... string
        who = Identity("IAMUser", USER, key)
        trail = EmulatedCloudTrail()
        rogue: dict[str, str] = {}
        launch_events = []
        for region in LAUNCHES:
            instance, event = launch(account, trail, who, region)
            rogue[instance] = region
            launch_events.append(event)
        guardduty = load_event("guardduty-iamuser-malicious-ip-caller.json")
        guardduty = json.loads(json.dumps(guardduty).replace(LEAKED_KEY, key))
        guardduty["detail"]["service"]["eventFirstSeen"] = (datetime.now(UTC) - timedelta(hours=1)).strftime(
            "%Y-%m-%dT%H:%M:%S.000Z"
        )
        events = [("health", health_event(datetime.now(UTC) - timedelta(hours=1), key=key)), ("guardduty", guardduty)]
        events += [("cloudtrail", e) for e in launch_events]

        worker_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | {
            "AWS_ENDPOINT_URL": server.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": HOME,
            "AWS_DEFAULT_REGION": HOME,
            "AWS_MAX_ATTEMPTS": "5",  # moto server may answer 500 under load: the SDK retries, as against AWS
            "PYTHONPATH": os.pathsep.join([str(ROOT / "lambdas"), str(ROOT)]),
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "SWEEP_REGIONS": ",".join(REGIONS),
            "INCIDENTS_TABLE": env["INCIDENTS_TABLE"],
            "LEDGER_TABLE": env["LEDGER_TABLE"],
            "IDEMPOTENCY_TABLE": env["IDEMPOTENCY_TABLE"],
            "NOTIFY_TOPIC_ARN": env["NOTIFY_TOPIC_ARN"],
            "QUARANTINE_POLICY_ARN": env["QUARANTINE_POLICY_ARN"],
            # the check again after the door closed, at once (as in process): its 10 s wait is no part of the race
            "PROPAGATION_SECONDS": "0",
        }
        go = tmp_path / "go"
        written, server_of_workers = start(events, tmp_path, worker_env, go)
        deadline = time.monotonic() + 90
        while not all(Path(str(r) + ".ready").exists() for r in written) and time.monotonic() < deadline:
            if server_of_workers.poll() is not None:
                break  # it failed before every handler was ready: see workers.log
            time.sleep(0.05)
        go.touch()  # every handler imported: all at once
        try:
            server_of_workers.wait(timeout=150)
        finally:
            if server_of_workers.poll() is None:
                server_of_workers.kill()
                server_of_workers.wait()
        results = [json.loads(r.read_text()) for r in written]

        reports = [a["report"] for r in results for a in r["attempts"] if a["ok"]]
        errors = [a["error"] for r in results for a in r["attempts"] if not a["ok"]]
        accepted: Counter[str] = Counter()
        for r in results:
            accepted.update(r["accepted"])
        keys = {k["AccessKeyId"]: k["Status"] for k in iam.list_access_keys(UserName=USER)["AccessKeyMetadata"]}
        states = {
            i: account.client("ec2", region).describe_instances(InstanceIds=[i])["Reservations"][0]["Instances"][0][
                "State"
            ]["Name"]
            for i, region in rogue.items()
        }
        claims = account.client("dynamodb").scan(
            TableName=env["INCIDENTS_TABLE"],
            FilterExpression="sk = :incident",
            ExpressionAttributeValues={":incident": {"S": "incident"}},
        )["Items"]
        sent = pages(account, env["INBOX"])

    assert all(r["attempts"] for r in results), "every handler ran"
    assert all(r["attempts"][-1]["ok"] for r in results), errors  # a region failure is retried and completes
    assert keys == {key: "Inactive"}
    assert set(states.values()) == {"terminated"}, states
    incident_ids = {r["incidentId"] for r in reports if r.get("page") != "none" or r["trigger"] != "cloudtrail"}
    assert len(incident_ids) == 1, incident_ids
    assert len(claims) == 1, [c["incidentId"] for c in claims]  # one incident record
    assert accepted["iam:UpdateAccessKey"] == 1
    assert accepted["iam:PutUserPolicy"] + accepted["iam:AttachUserPolicy"] == 1
    assert 1 <= len(sent) <= 3, [p["Subject"] for p in sent]
    for page in sent:  # nothing said "left running" about an instance AWS now has terminated
        text = page["Message"]
        if "left running" in page["Subject"]:
            assert not any(i in text for i, state in states.items() if state == "terminated"), page["Subject"]
        assert "FAILED" not in page["Subject"] and "PARTIAL" not in page["Subject"], page["Subject"]
