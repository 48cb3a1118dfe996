"""``make deploy-local``: the README's Deploy commands, run literally with the pinned CDK CLI against
moto in server mode, and the resulting AWS state checked after each of them.

The README is the script: every ``npx cdk`` line in the fenced ``bash`` blocks of its "Deploy"
section runs as written (``bash -c``), in the README's order, in a copy of the project. What the
rehearsal adds is the environment (the emulated endpoint, dummy credentials) and the checks:

* ``bootstrap``        - the toolkit stack exists in the home region and in no other region; the roles it
  created are the only roles a stack may name;
* before and after each ``deploy`` - the cloud assembly, stricter than moto (tools/deploy_checks.py): every
  role a stack or asset names (``assumeRoleArn``, ``cloudFormationExecutionRoleArn``, lookup and publishing
  roles) is one the bootstrap created; every policy and boundary within IAM's quotas; every key policy allows
  what its services call, as their documentation says. Before: the assembly the previous command synthesized
  from the same app (bootstrap, diff); after: the one the deploy itself used;
* ``deploy`` (first)   - every stack of the cloud assembly is deployed in its region; each function's
  environment, runtime, handler, memory and timeout equal the template's (references resolved to the
  deployed resources); each rule's pattern and targets, home and forwarder regions; topic; tables.
  Then an incident: ``events/health-credentials-exposed.json`` through the health handler's code,
  with the deployed function's own environment: the key ends up Inactive, the team topic gets the
  message, the incident is recorded;
* ``diff``             - no stack differs from what was deployed (no false diffs), also when the same
  diff is given ``-c account=`` once;
* ``deploy -c ...``    - the update: the functions' environment follows the changed context (as the
  CLI passes it: strings), the stored template subscribes the e-mail;
* ``destroy <stack>``  - that forwarder stack is gone, every other stays;
* ``destroy --all``    - every stack is gone, and what the README says is kept (RemovalPolicy RETAIN:
  incidents and ledger tables, KMS key, log groups, trail buckets) is still there.

moto gaps, each handled once, where it applies (../shared/reference/emulation-notes.md):

* moto reads the bucket of CloudFormation's ``TemplateURL`` from the host name; with ``127.0.0.1`` it
  reads ``127``: the CLI's S3 endpoint for template URLs uses ``localhost`` (``cli_environment``).
* Change sets: moto's ``DeleteChangeSet`` crashes on a change set that does not exist, which every
  update and every change-set diff starts with; and with previous parameters moto fails on
  ``BootstrapVersion``. The README's commands say ``--method=direct --no-previous-parameters`` and
  ``diff --method=template`` - the same effect against AWS (see the README).
* Lambda ``Layers`` are ignored on create but checked on update, against moto's own layers by name:
  a stand-in ``AWSLambdaPowertoolsPythonV3-python313-arm64`` is published up to the version the stack
  uses before the first deploy (``publish_stand_in_layer``).
* Lambda invoke needs Docker: the handler code runs in a subprocess with the deployed function's
  environment (``tools/replay.py``); CloudTrail ``LookupEvents`` (not implemented) is answered there.
* ``DescribeKey`` of a key CloudFormation created fails in moto (HTTP 500): ``ListKeys`` finds it
  (``still_exists``).
* moto generates random access key ids: the event is adapted consistently - every occurrence of the
  documentation key id ``AKIAIOSFODNN7EXAMPLE`` becomes the id moto gave the key (``adapt_event``).
* What moto skips (SNS subscriptions and topic policy, alarms, the trail, test-event schemas,
  EventInvokeConfig) or drops (architecture, layers, tracing, PITR, TTL) is asserted on the
  synthesized template by tests/test_stack.py; here the update's subscription is read from the
  template CloudFormation stored.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from compromise_responder.infra.config import load
from compromise_responder.tools import deploy_checks
from compromise_responder.tools.moto_server import MotoServer

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
EVENT = "health-credentials-exposed.json"
EXAMPLE_KEY_ID = "AKIAIOSFODNN7EXAMPLE"  # the AWS documentation key id the sample events name
EXPOSED_USER = "ci-deployer"  # the IAM user the sample event names
TOOLKIT_STACK = "CDKToolkit"
POWERTOOLS_LAYER = "AWSLambdaPowertoolsPythonV3-python313-arm64"
PSEUDO = {"AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com"}
COPY_IGNORE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "node_modules",
    "cdk.out",
    "cdk.context.json",
    "__pycache__",
    ".*_cache",
    ".hypothesis",
    "*.egg-info",
    "results",
)


class RehearsalFailed(AssertionError):
    """A README command failed, or AWS does not hold what it should after one."""


# --- the README, as the script ---------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    text: str  # exactly as in the README (continuation lines kept)

    @property
    def verb(self) -> str:
        """``bootstrap``, ``deploy``, ``diff``, ``destroy`` ..."""
        return self.words[2]

    @property
    def words(self) -> list[str]:
        """The words bash sees: continuation lines joined, the README's comment dropped."""
        return shlex.split(self.text.replace("\\\n", " "), comments=True)

    @property
    def shown(self) -> str:
        """One line, without the README's comment (for the table of seconds)."""
        return shlex.join(self.words)

    @property
    def context(self) -> dict[str, str]:
        """The ``-c key=value`` pairs, as the CLI passes them to the app: strings."""
        words = self.words
        pairs = [b for a, b in itertools.pairwise(words) if a in ("-c", "--context")]
        pairs += [w.split("=", 1)[1] for w in words if w.startswith("--context=")]
        return dict(p.split("=", 1) for p in pairs)


def section(markdown: str, title: str) -> str:
    """The text of ``## title`` up to the next second-level heading."""
    found = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", markdown, re.M | re.S)
    if not found:
        raise RehearsalFailed(f"README has no '## {title}' section")
    return found.group(1)


def readme_commands(markdown: str) -> list[Command]:
    """Every ``npx cdk`` command of the Deploy section's bash blocks, in order, continuation lines joined."""
    commands = []
    for block in re.findall(r"^```bash\n(.*?)^```", section(markdown, "Deploy"), re.M | re.S):
        lines = iter(block.splitlines())
        for line in lines:
            text = line
            while text.rstrip().endswith("\\"):
                text += "\n" + next(lines)
            if text.startswith("npx cdk "):
                commands.append(Command(text))
    return commands


def adapt_event(event_text: str, key_id: str) -> dict[str, Any]:
    """The sample event, naming the key moto generated instead of the documentation key id - everywhere."""
    if EXAMPLE_KEY_ID not in event_text:
        raise RehearsalFailed(f"{EVENT} no longer names {EXAMPLE_KEY_ID}")
    return dict(json.loads(event_text.replace(EXAMPLE_KEY_ID, key_id)))


# --- the environment the commands run in -------------------------------------------------------------


def cli_environment(endpoint: str, home_region: str, workdir: Path) -> dict[str, str]:
    """The shell after ``source .venv/bin/activate``, pointed at the emulated endpoint. No AWS_* or CDK_*
    variable of the caller survives, and no profile file is read: nothing can reach a real account."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_"))}
    venv_bin = Path(sys.executable).parent
    env.update(
        PATH=f"{venv_bin}{os.pathsep}{env.get('PATH', '')}",
        VIRTUAL_ENV=str(venv_bin.parent),
        AWS_ENDPOINT_URL=endpoint,
        # moto gap: the bucket of a TemplateURL is read from the host name; "127.0.0.1" would read as "127"
        AWS_ENDPOINT_URL_S3_FOR_CLOUDFORMATION=endpoint.replace("127.0.0.1", "localhost"),
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_REGION=home_region,
        AWS_DEFAULT_REGION=home_region,
        AWS_CONFIG_FILE=str(workdir / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(workdir / "no-aws-credentials"),
        CDK_DISABLE_VERSION_CHECK="1",
        CDK_DISABLE_CLI_TELEMETRY="true",
        JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION="1",
        JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20,18",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def copy_project(destination: Path) -> Path:
    """A fresh copy of the project (no cdk.out, no personal cdk.context.json), sharing node_modules."""
    shutil.copytree(ROOT, destination, ignore=COPY_IGNORE, symlinks=True)
    (destination / "node_modules").symlink_to(ROOT / "node_modules", target_is_directory=True)
    return destination


# --- reading the template and the deployed resources ------------------------------------------------


def resolve(value: Any, refs: Mapping[str, str], attributes: Mapping[tuple[str, str], str]) -> Any:
    """A template value with Ref / Fn::GetAtt / Fn::Join replaced by what was deployed."""
    if isinstance(value, dict) and len(value) == 1:
        ((fn, arg),) = value.items()
        if fn == "Ref":
            return refs[arg]
        if fn == "Fn::GetAtt":
            return attributes[(arg[0], arg[1])]
        if fn == "Fn::Join":
            return str(arg[0]).join(str(resolve(part, refs, attributes)) for part in arg[1])
    if isinstance(value, dict):
        return {k: resolve(v, refs, attributes) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, refs, attributes) for v in value]
    return value


def attributes_needed(value: Any) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        if set(value) == {"Fn::GetAtt"}:
            yield (value["Fn::GetAtt"][0], value["Fn::GetAtt"][1])
        for v in value.values():
            yield from attributes_needed(v)
    elif isinstance(value, list):
        for v in value:
            yield from attributes_needed(v)


def of_type(template: Mapping[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


@dataclass
class Stack:
    """One stack of the cloud assembly and, once deployed, its physical resources."""

    name: str
    region: str
    template: dict[str, Any]
    refs: dict[str, str] = field(default_factory=dict)
    attributes: dict[tuple[str, str], str] = field(default_factory=dict)

    def resolved(self, value: Any) -> Any:
        return resolve(value, self.refs, self.attributes)


def assembly_stacks(cdk_out: Path) -> list[Stack]:
    manifest = json.loads((cdk_out / "manifest.json").read_text())
    stacks = []
    for name, artifact in manifest["artifacts"].items():
        if artifact["type"] == "aws:cloudformation:stack":
            template = json.loads((cdk_out / artifact["properties"]["templateFile"]).read_text())
            stacks.append(Stack(name, artifact["environment"].rsplit("/", 1)[1], template))
    return stacks


class Aws:
    """boto3 against the emulated endpoint: the rehearsal's own reads (and the replay's set-up)."""

    def __init__(self, endpoint: str) -> None:
        self.session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing")
        self.endpoint = endpoint
        self.config = Config(retries={"mode": "standard", "max_attempts": 2})
        self._clients: dict[tuple[str, str], Any] = {}

    def client(self, service: str, region: str) -> Any:
        key = (service, region)
        if key not in self._clients:
            self._clients[key] = self.session.client(
                service, region_name=region, endpoint_url=self.endpoint, config=self.config
            )
        return self._clients[key]

    def stack_status(self, name: str, region: str) -> str | None:
        try:
            [stack] = self.client("cloudformation", region).describe_stacks(StackName=name)["Stacks"]
        except ClientError as exc:
            if "does not exist" in str(exc):
                return None
            raise
        return str(stack["StackStatus"])

    def load_physical(self, stack: Stack, account: str) -> None:
        """Fill the stack's refs (physical ids) and the attributes its template reads."""
        cfn = self.client("cloudformation", stack.region)
        pages = cfn.get_paginator("list_stack_resources").paginate(StackName=stack.name)
        stack.refs = {
            r["LogicalResourceId"]: r["PhysicalResourceId"] for p in pages for r in p["StackResourceSummaries"]
        }
        stack.refs.update(
            PSEUDO, **{"AWS::AccountId": account, "AWS::Region": stack.region, "AWS::StackName": stack.name}
        )
        for logical, attribute in set(attributes_needed(stack.template)):
            kind = stack.template["Resources"][logical]["Type"]
            value = self.attribute(kind, attribute, stack.refs[logical], stack.region)
            if value is not None:  # the rest (KMS key ARNs in policies ...) is not compared here
                stack.attributes[(logical, attribute)] = value

    def attribute(self, kind: str, attribute: str, physical: str, region: str) -> str | None:
        """``Fn::GetAtt`` of a deployed resource, for the kinds the checks compare."""
        if (kind, attribute) == ("AWS::Lambda::Function", "Arn"):
            return str(self.client("lambda", region).get_function_configuration(FunctionName=physical)["FunctionArn"])
        if (kind, attribute) == ("AWS::SQS::Queue", "Arn"):
            found = self.client("sqs", region).get_queue_attributes(QueueUrl=physical, AttributeNames=["QueueArn"])
            return str(found["Attributes"]["QueueArn"])
        if (kind, attribute) == ("AWS::IAM::Role", "Arn"):
            return str(self.client("iam", region).get_role(RoleName=physical)["Role"]["Arn"])
        return None


# --- checks: what AWS holds against what the template says --------------------------------------------


def function_problems(stack: Stack, aws: Aws) -> list[str]:
    problems = []
    lam = aws.client("lambda", stack.region)
    for logical, resource in of_type(stack.template, "AWS::Lambda::Function").items():
        props = resource["Properties"]
        deployed = lam.get_function_configuration(FunctionName=stack.refs[logical])
        want_env = stack.resolved(props["Environment"]["Variables"])
        got_env = deployed.get("Environment", {}).get("Variables", {})
        if got_env != want_env:
            diff = sorted(k for k in set(want_env) | set(got_env) if want_env.get(k) != got_env.get(k))
            problems.append(f"{stack.name}/{logical}: environment differs from the template in {diff}")
        for key in ("Runtime", "Handler", "MemorySize", "Timeout"):
            if deployed.get(key) != props.get(key):
                problems.append(f"{stack.name}/{logical}: {key} is {deployed.get(key)!r}, template {props.get(key)!r}")
    return problems


def rule_problems(stack: Stack, aws: Aws) -> list[str]:
    problems = []
    events = aws.client("events", stack.region)
    for logical, resource in of_type(stack.template, "AWS::Events::Rule").items():
        props = resource["Properties"]
        name = stack.refs[logical].split("|")[-1]
        deployed = events.describe_rule(Name=name)
        if json.loads(deployed.get("EventPattern") or "null") != props.get("EventPattern"):
            problems.append(f"{stack.name}/{logical}: deployed event pattern differs from the template")
        if deployed.get("ScheduleExpression") != props.get("ScheduleExpression"):  # the heartbeat's schedule
            problems.append(f"{stack.name}/{logical}: deployed schedule differs from the template")
        if deployed.get("State") != props.get("State", "ENABLED"):
            problems.append(f"{stack.name}/{logical}: state {deployed.get('State')}")
        targets = {t["Id"]: t for t in events.list_targets_by_rule(Rule=name)["Targets"]}
        for want in stack.resolved(props["Targets"]):
            got = targets.get(want["Id"], {})
            for key in ("Arn", "RoleArn", "DeadLetterConfig", "RetryPolicy"):
                if key in want and got.get(key) != want[key]:
                    problems.append(
                        f"{stack.name}/{logical}: target {want['Id']} {key} is {got.get(key)!r}, want {want[key]!r}"
                    )
    return problems


def table_problems(stack: Stack, aws: Aws) -> list[str]:
    problems = []
    dynamodb = aws.client("dynamodb", stack.region)
    for logical, resource in of_type(stack.template, "AWS::DynamoDB::Table").items():
        table = dynamodb.describe_table(TableName=stack.refs[logical])["Table"]
        props = resource["Properties"]
        if table["TableStatus"] != "ACTIVE" or table["KeySchema"] != props["KeySchema"]:
            problems.append(f"{stack.name}/{logical}: {table['TableStatus']}, keys {table['KeySchema']}")
        want_indexes = {i["IndexName"] for i in props.get("GlobalSecondaryIndexes", [])}
        if {i["IndexName"] for i in table.get("GlobalSecondaryIndexes", [])} != want_indexes:
            problems.append(f"{stack.name}/{logical}: indexes differ from {sorted(want_indexes)}")
    return problems


def topic_problems(stack: Stack, aws: Aws) -> list[str]:
    sns = aws.client("sns", stack.region)
    problems = []
    for logical in of_type(stack.template, "AWS::SNS::Topic"):
        try:
            sns.get_topic_attributes(TopicArn=stack.refs[logical])
        except ClientError as exc:
            problems.append(f"{stack.name}/{logical}: topic missing ({exc})")
    return problems


def still_exists(kind: str, physical: str, region: str, aws: Aws) -> bool:
    """Does a resource CloudFormation left behind (DeletionPolicy Retain) still exist?"""
    try:
        if kind == "AWS::DynamoDB::Table":
            aws.client("dynamodb", region).describe_table(TableName=physical)
        elif kind == "AWS::KMS::Key":
            # moto gap: DescribeKey of a key CloudFormation created fails (moto keeps its policy as a dict and
            # answers HTTP 500); ListKeys reads the same key store without looking at the policy.
            pages = aws.client("kms", region).get_paginator("list_keys").paginate()
            return any(k["KeyId"] == physical for page in pages for k in page["Keys"])
        elif kind == "AWS::S3::Bucket":
            aws.client("s3", region).head_bucket(Bucket=physical)
        elif kind == "AWS::Logs::LogGroup":
            found = aws.client("logs", region).describe_log_groups(logGroupNamePrefix=physical)["logGroups"]
            return any(g["logGroupName"] == physical for g in found)
        else:
            raise RehearsalFailed(f"no check for a retained {kind}: add one to still_exists")
    except ClientError:
        return False
    return True


# --- the rehearsal ----------------------------------------------------------------------------------


@dataclass
class Step:
    name: str
    command: str
    seconds: float


@dataclass
class Result:
    workdir: Path
    steps: list[Step] = field(default_factory=list)
    stacks: list[str] = field(default_factory=list)
    toolkit_regions: list[str] = field(default_factory=list)
    forwarder_rules: dict[str, int] = field(default_factory=dict)
    replay: dict[str, Any] = field(default_factory=dict)
    diff_outputs: list[str] = field(default_factory=list)
    destroyed_alone: list[str] = field(default_factory=list)
    updated_environment: dict[str, str] = field(default_factory=dict)
    stored_subscriptions: list[str] = field(default_factory=list)
    remaining_stacks: list[str] = field(default_factory=list)
    retained: dict[str, bool] = field(default_factory=dict)
    deleted_with_stack: dict[str, bool] = field(default_factory=dict)
    bootstrap_roles: list[str] = field(default_factory=list)  # what the README's bootstrap created, nothing else
    assembly_checks: list[str] = field(default_factory=list)  # "<when>: <stacks checked>" (tools/deploy_checks.py)

    @property
    def total_seconds(self) -> float:
        return sum(s.seconds for s in self.steps)


class Rehearsal:
    def __init__(self, workdir: Path, endpoint: str, say: Callable[[str], None] = print) -> None:
        self.workdir = workdir
        self.project = copy_project(workdir / "project")
        self.endpoint = endpoint
        self.say = say
        self.context = json.loads((self.project / "cdk.json").read_text())["context"]
        self.home = str(self.context.get("homeRegion", "us-east-1"))
        self.env = cli_environment(endpoint, self.home, workdir)
        self.aws = Aws(endpoint)
        self.account = self.aws.client("sts", self.home).get_caller_identity()["Account"]
        self.result = Result(workdir)
        self.deploys = 0

    # imperative shell ---------------------------------------------------------------------------
    def timed(self, name: str, command: str, action: Callable[[], None]) -> None:
        start = time.monotonic()
        action()
        step = Step(name, command, round(time.monotonic() - start, 1))
        self.result.steps.append(step)
        self.say(f"[{step.seconds:6.1f} s] {name}: {command}")

    def cli(self, command: Command) -> str:
        log = self.workdir / f"{len(self.result.steps):02d}-{command.verb}.log"
        done = subprocess.run(
            ["bash", "-c", command.text],
            cwd=self.project,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,  # a CLI retrying an emulator error would otherwise wait for minutes
            check=False,
        )
        log.write_text(f"$ {command.text}\n{done.stdout}\n{done.stderr}")
        if done.returncode != 0:
            raise RehearsalFailed(f"`{command.text}` exited {done.returncode} (log: {log}):\n{done.stderr[-3000:]}")
        return done.stdout + done.stderr

    def stacks(self) -> list[Stack]:
        return assembly_stacks(self.project / "cdk.out")

    def run(self, commands: list[Command]) -> Result:
        self.timed("stand-in layer", f"publish {POWERTOOLS_LAYER} (moto gap)", self.publish_stand_in_layer)
        steps = {"bootstrap": self.bootstrap, "deploy": self.deploy, "diff": self.diff, "destroy": self.destroy}
        for command in commands:
            if command.verb not in steps:
                raise RehearsalFailed(f"README command not rehearsed (add a check): {command.text}")
            steps[command.verb](command)
        return self.result

    def publish_stand_in_layer(self) -> None:
        """moto gap: on update, moto looks up the function's layers among its own, by name and version."""
        layer = self.context.get("powertoolsLayerVersion", 27)
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as z:
            z.writestr("python/README.txt", "stand-in for AWS's public Powertools layer (moto gap)")
        lam = self.aws.client("lambda", self.home)
        for _ in range(int(layer)):
            lam.publish_layer_version(LayerName=POWERTOOLS_LAYER, Content={"ZipFile": archive.getvalue()})

    def bootstrap(self, command: Command) -> None:
        self.timed("bootstrap", command.shown, lambda: self.cli(command))
        regions = {s.region for s in self.stacks()}
        self.result.toolkit_regions = sorted(r for r in regions if self.aws.stack_status(TOOLKIT_STACK, r))
        if self.result.toolkit_regions != [self.home]:
            raise RehearsalFailed(f"bootstrapped regions: {self.result.toolkit_regions}, want only {self.home}")
        pages = self.aws.client("iam", self.home).get_paginator("list_roles").paginate()
        self.result.bootstrap_roles = sorted(r["Arn"] for page in pages for r in page["Roles"])

    def check_assembly(self, when: str, command: Command) -> None:
        """Stricter than moto (which assumes any role and evaluates no policy): every role the cloud assembly makes
        the CLI assume or pass exists - only what the README's bootstrap created counts -, every policy fits its
        quota, every key allows what its services call (tools/deploy_checks.py)."""
        cdk_out = self.project / "cdk.out"
        if not (cdk_out / "manifest.json").exists():
            raise RehearsalFailed(f"{when} `{command.text}`: no cloud assembly to check")
        problems = deploy_checks.assembly_problems(cdk_out, self.account, set(self.result.bootstrap_roles))
        if problems:
            raise RehearsalFailed(f"{when} `{command.text}`, the cloud assembly:\n  " + "\n  ".join(problems))
        self.result.assembly_checks.append(f"{when} {command.verb}: {len(deploy_checks.stack_regions(cdk_out))} stacks")

    def deploy(self, command: Command) -> None:
        self.deploys += 1
        first = self.deploys == 1
        # before: the assembly the previous command synthesized (bootstrap, diff: the same app); after: the deploy's own
        self.check_assembly("before", command)
        self.timed("deploy" if first else "update", command.shown, lambda: self.cli(command))
        self.check_assembly("after", command)
        stacks = self.stacks()
        problems = []
        for stack in stacks:
            status = self.aws.stack_status(stack.name, stack.region)
            if status not in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
                problems.append(f"{stack.name} ({stack.region}): {status}")
                continue
            self.aws.load_physical(stack, self.account)
            problems += function_problems(stack, self.aws) + rule_problems(stack, self.aws)
            if first:
                problems += table_problems(stack, self.aws) + topic_problems(stack, self.aws)
        if problems:
            raise RehearsalFailed("after `" + command.text + "`:\n  " + "\n  ".join(problems))
        home = self.home_stack(stacks)
        problems += self.configuration_problems(command, stacks, home)
        if problems:
            raise RehearsalFailed("after `" + command.text + "`:\n  " + "\n  ".join(problems))
        if first:
            self.result.stacks = sorted(s.name for s in stacks)
            self.result.forwarder_rules = {
                s.region: len(of_type(s.template, "AWS::Events::Rule")) for s in stacks if s is not home
            }
            self.timed("incident", f"{EVENT} through the health handler", lambda: self.replay(home))
        else:
            self.result.updated_environment = self.function_environment(home, "health")
            stored = self.aws.client("cloudformation", self.home).get_template(StackName=home.name)["TemplateBody"]
            stored = stored if isinstance(stored, dict) else json.loads(stored)
            self.result.stored_subscriptions = [
                r["Properties"]["Endpoint"] for r in of_type(stored, "AWS::SNS::Subscription").values()
            ]
            emails = load({**self.context, **command.context}).notify_emails
            if sorted(self.result.stored_subscriptions) != sorted(emails):
                raise RehearsalFailed(f"stored template subscribes {self.result.stored_subscriptions}, want {emails}")

    def configuration_problems(self, command: Command, stacks: list[Stack], home: Stack) -> list[str]:
        """What the functions got is what cdk.json and the command's ``-c`` values say (as the CLI passes them)."""
        config = load({**self.context, **command.context}, default_account=self.account)
        problems = []
        want_stacks = 1 + len(set(config.forwarder_regions) - {config.home_region})
        if len(stacks) != want_stacks:
            problems.append(f"{len(stacks)} stacks in the assembly, the configuration makes {want_stacks}")
        for handler in ("health", "guardduty", "cloudtrail", "runbook"):
            got = self.function_environment(home, handler)
            wrong = {k: got.get(k) for k, v in config.environment().items() if got.get(k) != v}
            if wrong:
                problems.append(f"{handler} function: {wrong} (configuration says {config.environment()})")
        return problems

    def diff(self, command: Command) -> None:
        """No stack differs from what was deployed - also with ``-c account=`` given on this command only
        (it used to turn every account-agnostic ARN into a false IAM/KMS change)."""
        pinned = Command(f"{command.shown} -c account={self.account}")
        for name, each in (("diff", command), ("diff -c account", pinned)):
            output: list[str] = []
            self.timed(name, each.shown, lambda each=each, output=output: output.append(self.cli(each)))
            self.result.diff_outputs.append(output[0])
            if "Number of stacks with differences: 0" not in output[0]:
                raise RehearsalFailed(f"`{each.text}` after the deploy shows differences:\n{output[0][-3000:]}")

    def destroy(self, command: Command) -> None:
        stacks = [s for s in self.stacks() if self.aws.stack_status(s.name, s.region)]
        for stack in stacks:  # what was deployed, read before it goes
            self.aws.load_physical(stack, self.account)
        named = {s.name for s in stacks} & set(command.words)  # none: --all
        if named:  # one forwarder region removed: its stack goes, every other stays
            self.timed("destroy " + ", ".join(sorted(named)), command.shown, lambda: self.cli(command))
            left = {s.name for s in stacks if self.aws.stack_status(s.name, s.region)}
            if left & named or left != {s.name for s in stacks} - named:
                raise RehearsalFailed(f"after `{command.text}`: stacks left {sorted(left)}")
            self.result.destroyed_alone = sorted(named)
            return
        self.timed("destroy", command.shown, lambda: self.cli(command))
        self.result.remaining_stacks = [s.name for s in stacks if self.aws.stack_status(s.name, s.region)]
        for stack in stacks:
            for logical, resource in stack.template["Resources"].items():
                kept = resource.get("DeletionPolicy") == "Retain"
                if kept or resource["Type"] == "AWS::DynamoDB::Table":
                    exists = still_exists(resource["Type"], stack.refs[logical], stack.region, self.aws)
                    (self.result.retained if kept else self.result.deleted_with_stack)[f"{stack.name}/{logical}"] = (
                        exists if kept else not exists
                    )
        problems = [f"stack {s} still exists" for s in self.result.remaining_stacks]
        problems += [
            f"{r} was deleted; the README says destroy keeps it" for r, ok in self.result.retained.items() if not ok
        ]
        problems += [f"{r} survived the destroy" for r, ok in self.result.deleted_with_stack.items() if not ok]
        if problems:
            raise RehearsalFailed("after `" + command.text + "`:\n  " + "\n  ".join(problems))

    # the incident --------------------------------------------------------------------------------
    def home_stack(self, stacks: list[Stack]) -> Stack:
        [home] = [s for s in stacks if of_type(s.template, "AWS::Lambda::Function")]
        return home

    def function_logical(self, stack: Stack, handler: str) -> str:
        [logical] = [
            k
            for k, v in of_type(stack.template, "AWS::Lambda::Function").items()
            if v["Properties"]["Handler"] == f"handlers.{handler}.handler"
        ]
        return logical

    def function_environment(self, stack: Stack, handler: str) -> dict[str, str]:
        name = stack.refs[self.function_logical(stack, handler)]
        config = self.aws.client("lambda", stack.region).get_function_configuration(FunctionName=name)
        return dict(config["Environment"]["Variables"])

    def replay(self, home: Stack) -> None:
        """The exposure notice, through the health handler with the deployed function's environment."""
        iam = self.aws.client("iam", self.home)
        iam.create_user(UserName=EXPOSED_USER)
        key_id = iam.create_access_key(UserName=EXPOSED_USER)["AccessKey"]["AccessKeyId"]
        event = adapt_event((self.project / "events" / EVENT).read_text(), key_id)
        environment = self.function_environment(home, "health")
        topic = environment["NOTIFY_TOPIC_ARN"]
        sqs = self.aws.client("sqs", self.home)
        inbox = sqs.create_queue(QueueName="rehearsal-team-inbox")["QueueUrl"]
        inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.aws.client("sns", self.home).subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn)

        function = self.aws.client("lambda", self.home).get_function_configuration(
            FunctionName=home.refs[self.function_logical(home, "health")]
        )
        event_file, result_file = self.workdir / "event.json", self.workdir / "handler-result.json"
        event_file.write_text(json.dumps(event))
        env = {k: v for k, v in self.env.items() if not k.startswith("AWS_")} | {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": self.home,
            "AWS_DEFAULT_REGION": self.home,
            "AWS_CONFIG_FILE": self.env["AWS_CONFIG_FILE"],
            "AWS_SHARED_CREDENTIALS_FILE": self.env["AWS_SHARED_CREDENTIALS_FILE"],
            "PYTHONPATH": os.pathsep.join([str(self.project / "lambdas"), str(self.project)]),
            **environment,  # the deployed function's own configuration, last: it wins
        }
        done = subprocess.run(
            [sys.executable, "-m", "compromise_responder.tools.replay", "health", function["FunctionName"], function["FunctionArn"],
             str(event_file), str(result_file)],
            cwd=self.project, env=env, capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        (self.workdir / "handler.log").write_text(done.stdout + done.stderr)
        outcome = json.loads(result_file.read_text()) if result_file.exists() else {"ok": False}
        if not outcome["ok"]:
            raise RehearsalFailed(f"health handler failed: {outcome.get('traceback') or done.stderr[-3000:]}")

        status = {
            k["AccessKeyId"]: k["Status"] for k in iam.list_access_keys(UserName=EXPOSED_USER)["AccessKeyMetadata"]
        }
        messages = sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        notifications = [json.loads(m["Body"]) for m in messages]
        incidents_table = environment["INCIDENTS_TABLE"]
        incidents = self.aws.client("dynamodb", self.home).scan(TableName=incidents_table)["Items"]
        self.result.replay = {
            "keyId": key_id,
            "keyStatus": status.get(key_id),
            "userPolicies": iam.list_user_policies(UserName=EXPOSED_USER)["PolicyNames"]
            + [p["PolicyName"] for p in iam.list_attached_user_policies(UserName=EXPOSED_USER)["AttachedPolicies"]],
            "subjects": [n.get("Subject", "") for n in notifications],
            "messages": [n.get("Message", "") for n in notifications],
            "topic": topic,
            "incidents": len(incidents),
            "incidentMentionsKey": any(key_id in json.dumps(item) for item in incidents),
            "report": outcome["result"],
        }
        if status.get(key_id) != "Inactive" or not notifications or not self.result.replay["incidentMentionsKey"]:
            raise RehearsalFailed(f"incident not contained through the deployed configuration: {self.result.replay}")


def rehearse(workdir: Path, say: Callable[[str], None] = print) -> Result:
    """The README's Deploy commands against moto in server mode; the server is always stopped by its PID."""
    commands = readme_commands(README.read_text())
    start = time.monotonic()
    with MotoServer(workdir) as server:
        started = round(time.monotonic() - start, 1)
        pid = server.process.pid if server.process else None
        say(f"[{started:6.1f} s] moto server: {server.endpoint} (pid {pid})")
        rehearsal = Rehearsal(workdir, server.endpoint, say)
        rehearsal.result.steps.append(
            Step("moto server", f"python -m compromise_responder.tools.moto_server: {server.endpoint}", started)
        )
        result = rehearsal.run(commands)
        stopping = time.monotonic()
    result.steps.append(Step("stop server", "by its PID", round(time.monotonic() - stopping, 1)))
    return result


def main() -> int:
    workdir = Path(tempfile.mkdtemp(prefix="deploy-rehearsal-"))
    print(f"deploy rehearsal in {workdir} (logs there)")
    try:
        result = rehearse(workdir)
    except RehearsalFailed as failure:
        print(f"\nFAILED: {failure}\nlogs: {workdir}", file=sys.stderr)
        return 1
    print("\n| step | command | seconds |\n|---|---|---|")
    for step in result.steps:
        print(f"| {step.name} | `{step.command.splitlines()[0]}` | {step.seconds:.1f} |")
    print(f"| **total** | | **{result.total_seconds:.1f}** |")
    print(
        f"\n{len(result.stacks)} stacks deployed, updated and destroyed; key {result.replay['keyStatus']}; "
        f"{len(result.replay['subjects'])} message(s) on the team topic; kept after destroy: "
        f"{sorted(result.retained)}"
    )
    (workdir / "result.json").write_text(json.dumps(result, default=lambda o: getattr(o, "__dict__", str(o)), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
