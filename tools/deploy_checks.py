"""What the emulator cannot see, checked on the cloud assembly before AWS would refuse it.

moto accepts an AssumeRole into a role that does not exist, ignores CloudFormation's ``RoleARN``, evaluates no
IAM or key policy and knows no quota. So the deploy rehearsal (tools/deploy_local.py) and ``make test``
(tests/test_stack.py, tests/test_organization_stack.py) check the synthesized assembly here, stricter than moto:

* ``role_problems``   - every role the assembly makes the CLI use (a stack's ``assumeRoleArn``,
  ``cloudFormationExecutionRoleArn`` and lookup role; each asset's publishing role) is one that exists;
* ``quota_problems``  - every policy document against IAM's (and the resource policies') size quotas, counted as
  IAM counts (whitespace-free); role trust policies; managed policies per role; Lambda environments;
* ``key_policy_problems`` - every KMS key a service uses allows what that service's documentation says it
  calls, evaluated (tools/iam_policy) with the request context that service sends - e.g. CloudTrail's
  ``kms:DescribeKey`` carries no encryption context, so a statement conditioned on one never allows it.

What cannot be checked from the assembly (the account's adjusted quotas, SCPs, trails and concurrency already in
the account) is listed in the README, Deploy: "Before `cdk deploy`".
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from compromise_responder.infra.permissions import iam_chars
from compromise_responder.tools.iam_policy import evaluate, resolve

# IAM and STS quotas (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html): characters,
# whitespace not counted. The trust-policy and managed-policies-per-role quotas are the defaults (adjustable).
MANAGED_POLICY_CHARS = 6144
ROLE_INLINE_CHARS = 10240  # all of one role's inline policies together
TRUST_POLICY_CHARS = 2048
MANAGED_POLICIES_PER_ROLE = 10
# Resource policies (bytes): KMS key policy, SNS topic policy, SQS queue policy, S3 bucket policy.
KEY_POLICY_BYTES = 32768
TOPIC_POLICY_BYTES = 30720
QUEUE_POLICY_BYTES = 20480
BUCKET_POLICY_BYTES = 20480
LAMBDA_ENVIRONMENT_BYTES = 4096  # all of a function's variables together

PLACEHOLDER = re.compile(r"\$\{(AWS::AccountId|AWS::Partition|AWS::Region)\}")


# --- roles the assembly names -------------------------------------------------------------------------------


def named_roles(cdk_out: Path) -> Iterator[tuple[str, str, str]]:
    """(stack or asset, what, role ARN template) for every role the CLI would assume or pass."""
    manifest = json.loads((cdk_out / "manifest.json").read_text())
    for name, artifact in manifest["artifacts"].items():
        props = artifact.get("properties", {})
        if artifact["type"] == "aws:cloudformation:stack":
            for what in ("assumeRoleArn", "cloudFormationExecutionRoleArn"):
                if what in props:
                    yield name, what, props[what]
            if "lookupRole" in props:
                yield name, "lookupRole", props["lookupRole"]["arn"]
        elif artifact["type"] == "cdk:asset-manifest":
            assets = json.loads((cdk_out / props["file"]).read_text())
            for kind in ("files", "dockerImages"):
                for asset_id, asset in assets.get(kind, {}).items():
                    for destination in asset["destinations"].values():
                        if "assumeRoleArn" in destination:
                            yield f"{name}/{asset_id[:12]}", "asset assumeRoleArn", destination["assumeRoleArn"]


def stack_regions(cdk_out: Path) -> dict[str, str]:
    manifest = json.loads((cdk_out / "manifest.json").read_text())
    return {
        name: artifact["environment"].rsplit("/", 1)[1]
        for name, artifact in manifest["artifacts"].items()
        if artifact["type"] == "aws:cloudformation:stack"
    }


def role_problems(cdk_out: Path, existing: set[str], account: str, partition: str = "aws") -> list[str]:
    """Every role the assembly names must be among ``existing`` (role ARNs): the CLI assumes ``assumeRoleArn`` and
    hands ``cloudFormationExecutionRoleArn`` to CloudFormation as ``RoleARN``; a missing one fails the stack."""
    regions = stack_regions(cdk_out)
    problems = []
    for where, what, template in named_roles(cdk_out):
        region = regions.get(where.split("/")[0].removesuffix(".assets"), "")
        values = {"AWS::AccountId": account, "AWS::Partition": partition, "AWS::Region": region}
        arn = PLACEHOLDER.sub(lambda m, values=values: values[m[1]], template)
        if arn not in existing:
            problems.append(f"{where}: {what} {arn} does not exist (the README's `cdk bootstrap` does not create it)")
    return problems


# --- a template's policies, resolved as AWS would hold them -----------------------------------------------------

# A resource's ``Ref`` and ``Arn``, by type, with names as long as CloudFormation generates them
# (``<stack>-<logical id>-<12 characters>``): sizes are not understated.
_SHAPES = {
    "AWS::DynamoDB::Table": ("{n}", "arn:aws:dynamodb:{r}:{a}:table/{n}"),
    "AWS::SNS::Topic": ("arn:aws:sns:{r}:{a}:{n}", "arn:aws:sns:{r}:{a}:{n}"),
    "AWS::SQS::Queue": ("https://sqs.{r}.amazonaws.com/{a}/{n}", "arn:aws:sqs:{r}:{a}:{n}"),
    "AWS::KMS::Key": (
        "0123abcd-12ab-34cd-56ef-1234567890ab",
        "arn:aws:kms:{r}:{a}:key/0123abcd-12ab-34cd-56ef-1234567890ab",
    ),
    "AWS::Logs::LogGroup": ("{n}", "arn:aws:logs:{r}:{a}:log-group:{n}:*"),
    "AWS::IAM::Role": ("{n}", "arn:aws:iam::{a}:role/compromise-responder/{n}"),
    "AWS::IAM::ManagedPolicy": ("arn:aws:iam::{a}:policy/compromise-responder/{n}",) * 2,
    "AWS::Lambda::Function": ("{n}", "arn:aws:lambda:{r}:{a}:function:{n}"),
    "AWS::S3::Bucket": ("{n}", "arn:aws:s3:::{n}"),
    "AWS::StepFunctions::StateMachine": ("arn:aws:states:{r}:{a}:stateMachine:{n}",) * 2,
    "AWS::Events::Rule": ("{n}", "arn:aws:events:{r}:{a}:rule/{n}"),
    "AWS::CloudWatch::Alarm": ("{n}", "arn:aws:cloudwatch:{r}:{a}:alarm:{n}"),
}


def synthetic_refs(template: Mapping[str, Any], stack: str, account: str, region: str) -> dict[str, str]:
    """Values for every ``Ref``/``Fn::GetAtt ... Arn`` of a template, as a deployed stack would have them."""
    out = {
        "AWS::Partition": "aws",
        "AWS::AccountId": account,
        "AWS::Region": region,
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::StackName": stack,
    }
    for logical, resource in template["Resources"].items():
        name = (
            f"{stack}-{logical}-ABCDEFGHIJKL"[:64].lower()
            if resource["Type"] == "AWS::S3::Bucket"
            else (f"{stack[:20]}-{logical[:31]}-ABCDEFGHIJKL")
        )
        ref, arn = _SHAPES.get(resource["Type"], ("{n}", "arn:aws:cloudformation:{r}:{a}:resource/{n}"))
        out[logical] = ref.format(a=account, r=region, n=name)
        out[f"{logical}.Arn"] = arn.format(a=account, r=region, n=name)
    return out


def _resolved(node: Any, refs: Mapping[str, str]) -> Any:
    """``resolve``, and any GetAtt it has no value for (``.Name``, ``.QueueUrl``...) as a 64-character name."""
    try:
        return resolve(node, refs)
    except KeyError as missing:
        name = str(missing.args[0])
        return _resolved(node, {**refs, name: name.replace(".", "-")[:52] + "-ABCDEFGHIJK"})


def quota_problems(template: Mapping[str, Any], refs: Mapping[str, str], stack: str = "") -> list[str]:
    """Each policy and environment of one template against its quota, resolved with ``refs``."""
    resources = template["Resources"]
    problems: list[str] = []
    inline: dict[str, int] = {}
    managed: dict[str, int] = {}

    def over(logical: str, what: str, size: int, limit: int) -> None:
        if size > limit:
            problems.append(f"{stack}/{logical}: {what} is {size} characters, more than IAM's {limit}")

    for logical, resource in resources.items():
        kind, props = resource["Type"], resource.get("Properties", {})
        if kind == "AWS::IAM::ManagedPolicy":
            over(logical, "managed policy", iam_chars(_resolved(props["PolicyDocument"], refs)), MANAGED_POLICY_CHARS)
            for role in props.get("Roles", []):
                managed[role.get("Ref", str(role))] = managed.get(role.get("Ref", str(role)), 0) + 1
        elif kind == "AWS::IAM::Policy":
            size = iam_chars(_resolved(props["PolicyDocument"], refs))
            for role in props.get("Roles", []):
                inline[role.get("Ref", str(role))] = inline.get(role.get("Ref", str(role)), 0) + size
        elif kind == "AWS::IAM::Role":
            over(
                logical,
                "trust policy",
                iam_chars(_resolved(props["AssumeRolePolicyDocument"], refs)),
                TRUST_POLICY_CHARS,
            )
            for policy in props.get("Policies", []):
                inline[logical] = inline.get(logical, 0) + iam_chars(_resolved(policy["PolicyDocument"], refs))
            managed[logical] = managed.get(logical, 0) + len(props.get("ManagedPolicyArns", []))
        elif kind == "AWS::KMS::Key":
            over(logical, "key policy", len(json.dumps(_resolved(props["KeyPolicy"], refs))), KEY_POLICY_BYTES)
        elif kind == "AWS::SNS::TopicPolicy":
            over(logical, "topic policy", len(json.dumps(_resolved(props["PolicyDocument"], refs))), TOPIC_POLICY_BYTES)
        elif kind == "AWS::SQS::QueuePolicy":
            over(logical, "queue policy", len(json.dumps(_resolved(props["PolicyDocument"], refs))), QUEUE_POLICY_BYTES)
        elif kind == "AWS::S3::BucketPolicy":
            size = len(json.dumps(_resolved(props["PolicyDocument"], refs)))
            over(logical, "bucket policy", size, BUCKET_POLICY_BYTES)
        elif kind == "AWS::Lambda::Function" and "Environment" in props:
            variables = _resolved(props["Environment"].get("Variables", {}), refs)
            over(logical, "environment", len(json.dumps(variables, separators=(",", ":"))), LAMBDA_ENVIRONMENT_BYTES)
    for role, size in inline.items():
        over(role, "inline policies together", size, ROLE_INLINE_CHARS)
    for role, count in managed.items():
        if count > MANAGED_POLICIES_PER_ROLE:
            problems.append(f"{stack}/{role}: {count} managed policies attached, more than {MANAGED_POLICIES_PER_ROLE}")
    return problems


# --- key policies against what each service documents it calls ------------------------------------------------


def _logical(value: Any) -> str | None:
    """The logical id a ``Ref``/``Fn::GetAtt`` names."""
    if isinstance(value, Mapping) and "Ref" in value:
        return str(value["Ref"])
    if isinstance(value, Mapping) and "Fn::GetAtt" in value:
        return str(value["Fn::GetAtt"][0])
    return None


def key_uses(template: Mapping[str, Any], refs: Mapping[str, str]) -> list[tuple[str, str, str, dict[str, str]]]:
    """(key logical id, service principal, action, request context) for every call AWS documents a service makes
    with a key of this template:

    * CloudTrail (trail ``KMSKeyId``): ``kms:GenerateDataKey*`` with ``aws:SourceArn`` and the encryption context
      ``aws:cloudtrail:arn``; ``kms:DescribeKey`` with ``aws:SourceArn`` and no encryption context
      (CloudTrail User Guide, "Configure AWS KMS key policies for CloudTrail");
    * CloudWatch alarms and EventBridge rules publishing to a topic encrypted with the key, and EventBridge sending
      a rule's failed deliveries to a dead-letter queue encrypted with it: ``kms:Decrypt`` and
      ``kms:GenerateDataKey`` with ``aws:SourceAccount``/``aws:SourceArn`` (SNS and EventBridge User Guides)."""
    resources = template["Resources"]
    account = refs["AWS::AccountId"]
    uses = []
    encrypted: dict[str, str] = {}  # topic / queue logical -> key logical
    for logical, resource in resources.items():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::CloudTrail::Trail" and _logical(props.get("KMSKeyId")):
            trail = f"arn:aws:cloudtrail:{refs['AWS::Region']}:{account}:trail/{props.get('TrailName', logical)}"
            key = str(_logical(props["KMSKeyId"]))
            context = {"aws:SourceArn": trail, "aws:SourceAccount": account}
            uses.append(
                (
                    key,
                    "cloudtrail.amazonaws.com",
                    "kms:GenerateDataKey",
                    {**context, "kms:EncryptionContext:aws:cloudtrail:arn": trail},
                )
            )
            uses.append((key, "cloudtrail.amazonaws.com", "kms:DescribeKey", context))
        if resource["Type"] in ("AWS::SNS::Topic", "AWS::SQS::Queue") and _logical(props.get("KmsMasterKeyId")):
            encrypted[logical] = str(_logical(props["KmsMasterKeyId"]))
    senders: list[tuple[str, str, str]] = []  # (service, source ARN, topic/queue logical)
    for logical, resource in resources.items():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::CloudWatch::Alarm":
            for action in props.get("AlarmActions", []) + props.get("OKActions", []):
                senders.append(("cloudwatch.amazonaws.com", refs[f"{logical}.Arn"], str(_logical(action))))
        if resource["Type"] == "AWS::Events::Rule":
            for target in props.get("Targets", []):
                for value in (target.get("Arn"), target.get("DeadLetterConfig", {}).get("Arn")):
                    senders.append(("events.amazonaws.com", refs[f"{logical}.Arn"], str(_logical(value))))
    for service, source, target in senders:
        if target in encrypted:
            for action in ("kms:Decrypt", "kms:GenerateDataKey"):
                uses.append(
                    (encrypted[target], service, action, {"aws:SourceArn": source, "aws:SourceAccount": account})
                )
    return uses


def _for_service(statement: Mapping[str, Any], service: str) -> bool:
    principal = statement.get("Principal")
    if principal == "*" or (isinstance(principal, Mapping) and principal.get("AWS") == "*"):
        return True
    services = principal.get("Service", []) if isinstance(principal, Mapping) else []
    return service in (services if isinstance(services, list) else [services])


def key_policy_problems(template: Mapping[str, Any], refs: Mapping[str, str], stack: str = "") -> list[str]:
    """Each documented call of a service on a key of this template, evaluated against the key policy."""
    problems = []
    for key, service, action, context in key_uses(template, refs):
        policy = _resolved(template["Resources"][key]["Properties"]["KeyPolicy"], refs)
        statements = [s for s in policy["Statement"] if _for_service(s, service)]
        decision = evaluate(action, refs[f"{key}.Arn"], [{"Statement": statements}], context=context)
        if decision != "allow":
            problems.append(
                f"{stack}/{key}: the key policy does not allow {service} {action} ({decision}) with the context "
                f"it sends: {sorted(context)}"
            )
    return problems


def template_problems(template: Mapping[str, Any], stack: str, account: str, region: str) -> list[str]:
    """Quotas and key policies of one stack's template, its references filled in as CloudFormation would."""
    refs = synthetic_refs(template, stack, account, region)
    return quota_problems(template, refs, stack) + key_policy_problems(template, refs, stack)


def assembly_problems(cdk_out: Path, account: str, existing_roles: set[str] | None = None) -> list[str]:
    """Everything above for every stack of a cloud assembly (roles only when ``existing_roles`` is given)."""
    manifest = json.loads((cdk_out / "manifest.json").read_text())
    problems = [] if existing_roles is None else role_problems(cdk_out, existing_roles, account)
    for name, region in stack_regions(cdk_out).items():
        template = json.loads((cdk_out / manifest["artifacts"][name]["properties"]["templateFile"]).read_text())
        problems += template_problems(template, name, account, region)
    return problems
