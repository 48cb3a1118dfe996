"""An emulated AWS account for tests, the demo and the benchmark: moto, plus explicit gap fillers.

Gaps filled (../shared/reference/emulation-notes.md):
  * CloudTrail: moto has no LookupEvents and no EventBridge delivery of API calls; ``Actor``
    records every call it makes as a realistic CloudTrail record (``EmulatedCloudTrail``), which answers
    LookupEvents at the HTTP layer: 50 events a page with NextToken, a throttled page retried by the SDK.
    ``trails.attacker_trail`` seeds a realistic attacker trail of hundreds of calls.
  * Load balancing: moto leaves an instance detached from its Auto Scaling group registered in the group's
    target groups, and refuses to deregister a target that is not registered; AWS does neither
    (``TargetGroups``). Not filled, and visible: moto forgets a deregistered target at once, AWS lists it as
    ``draining`` for the deregistration delay.
  * Isolation attributes: moto reads back DeleteOnTermination (DescribeInstances) and the shutdown behaviour
    (DescribeInstanceAttribute) as AWS does, and honours DisableApiTermination set by ModifyInstanceAttribute
    (not set at launch: ``TerminationProtection``).
  * Termination protection: moto ignores it; ``TerminationProtection`` refuses TerminateInstances
    like AWS until ModifyInstanceAttribute turns it off.
  * Access key ids: moto generates random ones; ``adopt_key_id`` gives a key the AWS documentation
    example id, so fixtures stay the events AWS delivers.
  * SNS: moto delivers to the SQS inbox (the ``default`` message, as AWS does) but cannot deliver to ``https``
    subscribers (AWS Chatbot); ``chat_notifications`` reads what SNS would send them from the accepted Publish.
  * Lambda: moto keeps a function's ``LastModified`` across UpdateFunctionCode/Configuration; AWS updates it
    (``responder_world.LambdaLastModified``).
  * Security Hub: ``SecurityHubFindings`` answers BatchUpdateFindings (not in moto), refuses imports while
    Security Hub is disabled, and keeps the customer's fields of a finding across imports, as AWS does.
  * Route 53 Resolver: ``logging_moves.ResolverQueryLogs`` disassociates and deletes query logging configurations
    (not in moto), refusing to delete one that still has VPCs, as AWS does.
"""

from __future__ import annotations

import copy
import json
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# One AMI instead of moto's hundreds: each region's EC2 backend then starts in milliseconds, not
# seconds (moto reads this variable when it is first imported).
os.environ.setdefault("MOTO_AMIS_PATH", str(Path(__file__).resolve().parent / "amis.json"))
AMI = "ami-0abcdef1234567890"

from moto import mock_aws  # noqa: E402
from responder.aws import new_session, reset_default_clients  # noqa: E402
from responder.core.table_keys import TABLES, create_table_request  # noqa: E402
from responder.evidence import activity  # noqa: E402
from responder.record.attempts import forget_all as forget_all_attempts  # noqa: E402

from .authorization import Authorization  # noqa: E402
from .capacity import BatchJobs, EcsGaps, GlueRuns, Lightsail, RunningBuilds, SageMakerJobs, UnofferedRegions  # noqa: E402
from .chain import RolesAnywhere, SerialConsoleAccess  # noqa: E402
from .cloudtrail import ACCOUNT, EC2_XMLNS, EmulatedCloudTrail, Identity, cloudtrail_detail  # noqa: E402
from .hooks import (  # noqa: E402
    UNWATCHED,
    AssumeRoleDenials,
    CallRecorder,
    Dispatcher,
    Faults,
    Latency,
    PublishedMessages,
    RootKeys,
    SecurityHubFindings,
    SpotInstanceIds,
    TargetGroups,
    TerminationProtection,
)
from .logging_moves import ResolverQueryLogs  # noqa: E402
from .responder_world import LambdaLastModified  # noqa: E402

HOME = "us-east-1"
UNPACED_LOOKUPS = 1000.0  # LookupEvents per second per region when the quota is not emulated
# The world a test sweeps unless it asks for more (``EmulatedAws(regions=...)``, ``@pytest.mark.regions(...)``): the
# home region, a second region of the usual ALLOWED_REGIONS (us-east-1,eu-west-1) where the team runs, and one outside
# it where the incidents' attacker runs. Each region swept costs every handler test its own calls.
DEFAULT_REGIONS = ("us-east-1", "eu-west-1", "sa-east-1")
TOPIC_NAME = "compromise-responder-team"
BASE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": HOME,
    "AWS_REGION": HOME,
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "CompromiseResponder",
    "POWERTOOLS_SERVICE_NAME": "compromise-responder",
}


@dataclass
class Notification:
    subject: str
    body: str
    attributes: dict[str, str] = field(default_factory=dict)

    @property
    def report(self) -> dict[str, Any]:
        """The JSON report: the last part of the message, after the marker line."""
        from responder.record.notify import JSON_MARKER

        return json.loads(self.body.split(JSON_MARKER, 1)[1])

    @property
    def summary(self) -> str:
        from responder.record.notify import JSON_MARKER

        return self.body.split(JSON_MARKER, 1)[0]


@dataclass
class ClientContext:
    """Lambda's ``context.client_context``: what the invoking client sent (``ClientContext`` of Invoke)."""

    custom: dict[str, Any] = field(default_factory=dict)
    env: dict[str, Any] = field(default_factory=dict)
    client: Any = None


@dataclass
class LambdaContext:
    """A standard Lambda context object (the attributes the contract names)."""

    function_name: str = "compromise-responder-health"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = f"arn:aws:lambda:{HOME}:{ACCOUNT}:function:compromise-responder-health"
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    timeout_millis: int = 900_000
    client_context: ClientContext | None = None

    def get_remaining_time_in_millis(self) -> int:
        return self.timeout_millis


class EmulatedAws:
    """One emulated account. Use as a context manager; it sets the environment the handlers read."""

    def __init__(
        self,
        *,
        regions: tuple[str, ...] = DEFAULT_REGIONS,
        account: str = ACCOUNT,
        env: dict[str, str] | None = None,
        latency: float = 0.0,
        iam_managed_policies: bool = False,
        lookup_quota: bool = False,
    ) -> None:
        self.lookup_quota = lookup_quota  # True: LookupEvents paced at AWS's 2 per second per region (the bench)
        self._saved_lookup_rate: float | None = None
        self.regions = regions
        self.iam_managed_policies = iam_managed_policies
        self.account = account
        self.extra_env = dict(env or {})
        self.trail = EmulatedCloudTrail()
        self.protection = TerminationProtection()
        self.faults = Faults()
        self.recorder = CallRecorder()
        self.authorization = Authorization()
        self.latency = Latency(latency)
        self.root_keys = RootKeys()
        self.assume_denied = AssumeRoleDenials()
        self.target_groups = TargetGroups(account)
        self.security_hub = SecurityHubFindings(account)
        self.serial_console = SerialConsoleAccess()
        self.roles_anywhere = RolesAnywhere()
        self.lightsail = Lightsail()
        self.glue_runs = GlueRuns()
        self.sagemaker_jobs = SageMakerJobs()
        self.batch_jobs = BatchJobs()
        self.dispatcher = Dispatcher(self.faults)
        self.dispatcher.plugins = [
            self.recorder,
            self.authorization,  # what AWS would refuse never reaches moto
            self.latency,
            self.protection,
            self.root_keys,
            self.assume_denied,
            self.security_hub,
            self.target_groups,
            self.serial_console,
            self.roles_anywhere,
            ResolverQueryLogs(),  # moto cannot disassociate or delete Route 53 Resolver query logging
            UnofferedRegions(),  # a service moto has no backend for in a region: not offered there
            self.lightsail,  # moto has no Lightsail
            self.glue_runs,  # nor Glue's BatchStopJobRun
            self.sagemaker_jobs,  # nor in-progress SageMaker jobs and their stops
            self.batch_jobs,  # moto runs Batch jobs in Docker
        ]
        self.dispatcher.senders.append(self.trail.on_send)  # after the injected faults
        self.spot_ids = SpotInstanceIds()
        self.published = PublishedMessages()
        self.builds = RunningBuilds()  # moto ends every build as soon as it is described
        self.ecs_gaps = EcsGaps()  # moto's DescribeTasks/DescribeServices lack cpu, memory, createdAt
        self.dispatcher.observers = [
            self.ecs_gaps.accepted,
            self.builds.accepted,
            self.glue_runs.accepted,
            self.protection.accepted,
            self.spot_ids.accepted,
            self.target_groups.accepted,
            self.security_hub.accepted,
            self.published.accepted,
            LambdaLastModified().accepted,
        ]
        self._mock: Any = None
        self._saved_env: dict[str, str | None] = {}
        self._queue_url = ""
        self.topic_arn = ""
        self.tables: dict[str, str] = {}
        self.seen: list[Notification] = []
        self._clients: dict[tuple[str, str], Any] = {}
        self._session: Any = None
        self._credentials: dict[str, str] = {}  # empty: the environment's (the home account)

    # --- lifecycle -------------------------------------------------------------------
    def __enter__(self) -> EmulatedAws:
        self._set_env(BASE_ENV)
        # AWS managed policies (AdministratorAccess ...) cost ~1 s to load: only scenarios that attach them ask
        self._mock = mock_aws(config={"iam": {"load_aws_managed_policies": self.iam_managed_policies}})
        self._mock.start()
        self.dispatcher.install()
        reset_default_clients()
        forget_all_attempts()  # a container's memory of unrecorded attempts belongs to one emulated account
        if not self.lookup_quota:  # the emulated trail has no 2-per-second quota: the readers need not wait for it
            self._saved_lookup_rate, activity.LOOKUPS_PER_SECOND = activity.LOOKUPS_PER_SECOND, UNPACED_LOOKUPS
        sns = self.client("sns")
        sqs = self.client("sqs")
        self.topic_arn = sns.create_topic(Name=TOPIC_NAME)["TopicArn"]
        self._queue_url = sqs.create_queue(QueueName="team-inbox")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=self._queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        sns.subscribe(TopicArn=self.topic_arn, Protocol="sqs", Endpoint=queue_arn)
        dynamodb = self.client("dynamodb")
        for logical, spec in TABLES.items():
            name = f"compromise-responder-{logical}"
            dynamodb.create_table(**create_table_request(logical, name))
            self.tables[logical] = name
            self._set_env({spec["env"]: name})
        self.quarantine_policy_arn = self.create_quarantine_policy()
        self._set_env(
            {
                "NOTIFY_TOPIC_ARN": self.topic_arn,
                "SWEEP_REGIONS": ",".join(self.regions),
                "AWS_MAX_ATTEMPTS": "3",
                "QUARANTINE_POLICY_ARN": self.quarantine_policy_arn,
                "PROPAGATION_SECONDS": "0",  # the check after the door closes, at once (tests set it when they wait)
            }
        )
        self._set_env(self.extra_env)
        self.recorder.reset()
        return self

    def create_quarantine_policy(self) -> str:
        """The customer-managed deny-all quarantine policy, as the stack (and the member stack) creates it."""
        from responder.actions.iam import DENY_ALL, QUARANTINE_POLICY_NAME

        made = self.client("iam").create_policy(PolicyName=QUARANTINE_POLICY_NAME, PolicyDocument=json.dumps(DENY_ALL))
        return str(made["Policy"]["Arn"])

    def __exit__(self, *exc: object) -> None:
        self.dispatcher.uninstall()
        if self._saved_lookup_rate is not None:
            activity.LOOKUPS_PER_SECOND, self._saved_lookup_rate = self._saved_lookup_rate, None
        forget_all_attempts()
        if self._mock is not None:
            self._mock.stop()
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env.clear()
        reset_default_clients()

    def _set_env(self, values: dict[str, str]) -> None:
        for key, value in values.items():
            self._saved_env.setdefault(key, os.environ.get(key))
            os.environ[key] = value

    def emulate_lookup_quota(self) -> None:
        """From now on the readers pace LookupEvents at AWS's 2 per second per region (a test of the time budget)."""
        if self._saved_lookup_rate is not None:
            activity.LOOKUPS_PER_SECOND = self._saved_lookup_rate

    def set_env(self, **values: str) -> None:
        """Change the handlers' configuration for the rest of this emulation."""
        self._set_env(values)

    # --- reading the emulated world ----------------------------------------------------
    def client(self, service: str, region: str = HOME) -> Any:
        """The emulator's own clients (the scenario's and the assertions'), cached; in this view's account."""
        key = (service, region)
        if key not in self._clients:
            if self._session is None:  # models parsed once per process (the responder's shared loader)
                self._session = new_session()
            self._clients[key] = self._session.client(service, region_name=region, **self._credentials)
        return self._clients[key]

    # --- several accounts (moto keeps one state per account) ----------------------------
    def organization(self, members: int, *, names: tuple[str, ...] = ()) -> list[str]:
        """An AWS Organization with this account as management account and ``members`` member accounts."""
        org = self.client("organizations")
        org.create_organization(FeatureSet="ALL")
        accounts = []
        for n in range(members):
            name = names[n] if n < len(names) else f"member-{n + 1}"
            created = org.create_account(Email=f"{name}@example.com", AccountName=name)["CreateAccountStatus"]
            accounts.append(str(created["AccountId"]))
        for account in accounts:
            self.in_account(account).create_quarantine_policy()  # the member stack's
        return accounts

    def in_account(self, account: str) -> EmulatedAws:
        """The same emulated world seen from another account (its own IAM, EC2 ... in moto): scenarios and
        assertions use it like the emulator itself. Credentials come from STS AssumeRole into the account."""
        if account == self.account:
            return self
        creds = self.client("sts").assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole", RoleSessionName="emulator"
        )["Credentials"]
        view = copy.copy(self)
        view.account = account
        view._clients = {}
        view._credentials = {
            "aws_access_key_id": creds["AccessKeyId"],
            "aws_secret_access_key": creds["SecretAccessKey"],
            "aws_session_token": creds["SessionToken"],
        }
        return view

    def notifications(self) -> list[Notification]:
        """Every message published to the team topic so far (drains the subscribed queue)."""
        sqs = self.client("sqs")
        while True:
            resp = sqs.receive_message(QueueUrl=self._queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
            messages = resp.get("Messages", [])
            if not messages:
                break
            for message in messages:
                envelope = json.loads(message["Body"])
                attributes = {k: v.get("Value", "") for k, v in (envelope.get("MessageAttributes") or {}).items()}
                self.seen.append(Notification(envelope.get("Subject", ""), envelope["Message"], attributes))
                sqs.delete_message(QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"])
        return list(self.seen)

    def chat_notifications(self) -> list[dict[str, Any]]:
        """What SNS sends ``https`` subscribers (AWS Chatbot) for every message published so far, parsed."""
        return [json.loads(p.for_protocol("https")) for p in self.published.messages]

    def findings(self, region: str = HOME) -> dict[str, dict[str, Any]]:
        """Security Hub findings by Id, as GetFindings returns them."""
        found = self.client("securityhub", region).get_findings()["Findings"]
        return {f["Id"]: f for f in found}

    def ami(self, region: str) -> str:
        return AMI

    def instance_states(self, region: str) -> dict[str, str]:
        ec2 = self.client("ec2", region)
        return {
            i["InstanceId"]: i["State"]["Name"]
            for r in ec2.describe_instances()["Reservations"]
            for i in r["Instances"]
        }

    def spot_request_states(self, region: str) -> dict[str, str]:
        """Listed spot requests. Gap: moto forgets a cancelled request; AWS lists it as ``cancelled``."""
        resp = self.client("ec2", region).describe_spot_instance_requests()
        return {r["SpotInstanceRequestId"]: r["State"] for r in resp["SpotInstanceRequests"]}

    def key_status(self, user: str) -> dict[str, str]:
        keys = self.client("iam").list_access_keys(UserName=user)["AccessKeyMetadata"]
        return {k["AccessKeyId"]: k["Status"] for k in keys}

    def user_policies(self, user: str) -> dict[str, dict[str, Any]]:
        """The user's policies by name: inline ones, and the responder's managed quarantine when attached."""
        iam = self.client("iam")
        inline = {
            name: _policy_doc(iam.get_user_policy(UserName=user, PolicyName=name)["PolicyDocument"])
            for name in iam.list_user_policies(UserName=user)["PolicyNames"]
        }
        return {**self._customer_managed(iam.list_attached_user_policies(UserName=user)), **inline}

    def role_policies(self, role: str) -> dict[str, dict[str, Any]]:
        """The role's policies by name: inline ones, and the responder's managed quarantine when attached."""
        iam = self.client("iam")
        inline = {
            name: _policy_doc(iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"])
            for name in iam.list_role_policies(RoleName=role)["PolicyNames"]
        }
        return {**self._customer_managed(iam.list_attached_role_policies(RoleName=role)), **inline}

    def attached(self, kind: str, name: str) -> set[str]:
        """ARNs of the managed policies attached to a user or role."""
        iam = self.client("iam")
        listed = (
            iam.list_attached_user_policies(UserName=name)
            if kind == "user"
            else iam.list_attached_role_policies(RoleName=name)
        )
        return {p["PolicyArn"] for p in listed["AttachedPolicies"]}

    def _customer_managed(self, listed: dict[str, Any]) -> dict[str, dict[str, Any]]:
        from responder.actions.iam import QUARANTINE_POLICY_NAME

        iam = self.client("iam")
        out = {}
        for p in listed["AttachedPolicies"]:
            if p["PolicyArn"] != f"arn:aws:iam::{self.account}:policy/{QUARANTINE_POLICY_NAME}":
                continue  # the team's own managed policies: not in this view
            version = iam.get_policy(PolicyArn=p["PolicyArn"])["Policy"]["DefaultVersionId"]
            doc = iam.get_policy_version(PolicyArn=p["PolicyArn"], VersionId=version)["PolicyVersion"]["Document"]
            out[p["PolicyName"]] = _policy_doc(doc)
        return out

    def snapshot(self) -> dict[str, Any]:
        """The mutable state the responder could touch: compare before/after to prove "no change"."""
        iam = self.client("iam")
        users = [u["UserName"] for u in iam.list_users()["Users"]]
        state: dict[str, Any] = {
            "keys": {u: self.key_status(u) for u in users},
            "userPolicies": {u: sorted(iam.list_user_policies(UserName=u)["PolicyNames"]) for u in users},
            "rolePolicies": {
                r["RoleName"]: sorted(iam.list_role_policies(RoleName=r["RoleName"])["PolicyNames"])
                for r in iam.list_roles()["Roles"]
            },
            "loginProfiles": sorted(u for u in users if _has_login_profile(iam, u)),
        }
        for region in self.regions:
            ec2 = self.client("ec2", region)
            state[region] = {
                "instances": self.instance_states(region),
                "spot": self.spot_request_states(region),
                "groups": {
                    i["InstanceId"]: sorted(g["GroupId"] for g in i.get("SecurityGroups", []))
                    for r in ec2.describe_instances()["Reservations"]
                    for i in r["Instances"]
                },
                "snapshots": len(ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]),
                "asgs": {
                    g["AutoScalingGroupName"]: g["DesiredCapacity"]
                    for g in self.client("autoscaling", region).describe_auto_scaling_groups()["AutoScalingGroups"]
                },
            }
        return state

    # --- people ------------------------------------------------------------------------
    def create_user(self, name: str, *, key_id: str | None = None, last_used: tuple[str, str] | None = None) -> Actor:
        """An IAM user with one access key (given the documentation-style id ``key_id``)."""
        iam = self.client("iam")
        iam.create_user(UserName=name)
        key = iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"]
        if key_id:
            key = adopt_key_id(self.account, name, key, key_id, last_used)
        return Actor(self, Identity("IAMUser", name, key, self.account))

    def actor(self, identity: Identity) -> Actor:
        return Actor(self, identity)

    def after_first(self, operation: str, moves: Callable[[], None]) -> None:
        """Run ``moves`` (the attacker's counter-moves) right after the first accepted ``operation`` call (the
        responder's ``AttachUserPolicy``, say), once, as another caller: not checked against the function's policy
        and not counted as the function's calls."""
        fired = threading.Event()

        def observer(call: Any, parsed: dict[str, Any]) -> None:
            if call.operation != operation or fired.is_set() or getattr(UNWATCHED, "on", False):
                return
            fired.set()
            UNWATCHED.on = True
            try:
                moves()
            finally:
                UNWATCHED.on = False

        self.dispatcher.observers.append(observer)


def _policy_doc(doc: Any) -> dict[str, Any]:
    return json.loads(doc) if isinstance(doc, str) else dict(doc)


def _has_login_profile(iam: Any, user: str) -> bool:
    try:
        iam.get_login_profile(UserName=user)
        return True
    except iam.exceptions.NoSuchEntityException:
        return False


def adopt_key_id(account: str, user: str, generated: str, wanted: str, last_used: tuple[str, str] | None) -> str:
    """moto generates random key ids; give this key the documentation example id instead."""
    from moto.iam.models import AccessKeyLastUsed, iam_backends

    backend = iam_backends[account]["aws"]
    for key in backend.users[user].access_keys:
        if key.access_key_id == generated:
            key.access_key_id = wanted
            if last_used:
                key.last_used = AccessKeyLastUsed(datetime.now(UTC), last_used[0], last_used[1])
    if generated in getattr(backend, "access_keys", {}):
        backend.access_keys[wanted] = backend.access_keys.pop(generated)
    return wanted


@contextmanager
def clock(at: datetime | None) -> Iterator[None]:
    """Launch "in the past": moto stamps LaunchTime/CreateTime with the (frozen) clock."""
    if at is None:
        yield
        return
    from freezegun import freeze_time

    with freeze_time(at):
        yield


from .actor import Actor, Launched  # noqa: E402

__all__ = [
    "ACCOUNT",
    "EC2_XMLNS",
    "Actor",
    "ClientContext",
    "EmulatedAws",
    "Identity",
    "LambdaContext",
    "Launched",
    "cloudtrail_detail",
]
