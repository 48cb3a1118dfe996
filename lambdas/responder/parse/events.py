"""Typed models of the events the responder accepts: one small pydantic model per source, and the field shapes
the runbooks' models share (each runbook's model is in its own module: ``responder.runbooks``).

Parsing is pure. Any problem raises ``BadInput`` (a ``ValueError``) whose message names the
field, before anything in AWS is touched (principle 6).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    ValidationError,
    ValidationInfo,
)

from ..core.partitions import is_region
from ..core.timeutil import parse_time
from ..findings.models import (
    ContainerDetails,
    Detection,
    EcsClusterDetails,
    EksClusterDetails,
    LambdaDetails,
    RdsDbInstanceDetails,
    S3BucketDetail,
)
from .guard_calls import SOURCES as GUARD_CALL_SOURCES

ACCESS_KEY_ID = re.compile(r"^(AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}$")
ACCESS_KEY_IN_TEXT = re.compile(r"\b((?:AKIA|ASIA)[A-Z0-9]{16})\b")
ACCOUNT_ID = re.compile(r"^[0-9]{12}$")  # not \d: it matches fullwidth and other Unicode digits
INSTANCE_ID = re.compile(r"^i-([0-9a-f]{8}|[0-9a-f]{17})$")
IAM_NAME = re.compile(r"^[A-Za-z0-9_+=,.@-]{1,64}$")  # IAM user/role names: ASCII only
HEALTH_NOTICES = {  # AWS Health credential-risk event codes (service RISK) -> how the headline names the key
    "AWS_RISK_CREDENTIALS_EXPOSED": "Exposed",
    "AWS_RISK_CREDENTIALS_EXPOSURE_SUSPECTED": "Possibly exposed",
    "AWS_RISK_CREDENTIALS_COMPROMISED": "Compromised",
    "AWS_RISK_CREDENTIALS_COMPROMISE_SUSPECTED": "Possibly compromised",
    "AWS_RISK_IAM_QUARANTINE": "AWS-quarantined",
    "AWS_RISK_ACCOUNT_CONSOLE_COMPROMISE": "Console-compromised",  # a console sign-in, not a key: flows/console.py
}
CONSOLE_COMPROMISE = "AWS_RISK_ACCOUNT_CONSOLE_COMPROMISE"
HEALTH_CREDENTIAL_CODES = frozenset(HEALTH_NOTICES)
HEALTH_DETAIL_TYPES = frozenset({"AWS Health Event", "AWS Health Abuse Event"})


class BadInput(ValueError):
    """The event is malformed; the message names the field. Nothing was changed."""


def shown(value: object, limit: int = 60) -> str:
    """A bad value as a refusal quotes it: its repr, cut (a hostile value can be 200 KB)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def field_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "event"


def explain(exc: ValidationError, what: str, at: tuple[int | str, ...] = ()) -> BadInput:
    """Turn a pydantic error into one readable message that names each bad field (``at``: where the validated value
    sits in the event)."""
    problems = []
    for err in exc.errors():
        path = field_path(at + tuple(err.get("loc", ())))
        if err.get("type") == "extra_forbidden":
            problems.append(f"field '{path}': unexpected field")
        elif err.get("type") == "missing":
            problems.append(f"field '{path}': required field is missing")
        else:
            problems.append(f"field '{path}': {err.get('msg', 'invalid')}")
    return BadInput(f"{what}: " + "; ".join(problems))


def _time(value: Any) -> datetime | None:
    try:
        return parse_time(value)
    except ValueError as exc:
        raise ValueError(str(exc)) from None


def _region(value: str, info: ValidationInfo) -> str:
    """A region of the home region's partition (given as validation context), not just region-shaped."""
    partition = (info.context or {}).get("partition", "aws")
    if not is_region(value, partition):
        raise ValueError(f"{value[:40]!r} is not a region of the {partition} partition")
    return value


Timestamp = Annotated[datetime, BeforeValidator(_time)]
OptionalTimestamp = Annotated[datetime | None, BeforeValidator(_time)]
Region = Annotated[str, AfterValidator(_region)]
Severity = Annotated[float, Strict(), Field(ge=0, le=10)]  # a JSON number: true or "8" are refused


class Envelope(BaseModel):
    """The EventBridge envelope every automatic trigger arrives in."""

    model_config = ConfigDict(populate_by_name=True, extra="allow", defer_build=True)

    version: str = Field(description="EventBridge envelope version", examples=["0"])
    id: str = Field(
        min_length=1, description="Envelope id: the idempotency key", examples=["7bf73129-1428-4cd3-a780-95db273d1602"]
    )
    detail_type: str = Field(alias="detail-type", examples=["AWS Health Event"])
    source: str = Field(examples=["aws.health"])
    account: str = Field(pattern=ACCOUNT_ID.pattern, examples=["123456789012"])
    time: Timestamp = Field(examples=["2026-11-20T06:40:12Z"])
    region: Region = Field(
        examples=["us-east-1"], description="Where the event happened: a finding without its own region acts here"
    )
    resources: list[str] = Field(default_factory=list)


# --- AWS Health ---------------------------------------------------------------------------
class HealthDescription(BaseModel):
    model_config = ConfigDict(extra="allow", defer_build=True)
    language: str | None = Field(None, examples=["en_US"])
    latestDescription: str = Field("", description="Free text; may name the key id")


class HealthEntity(BaseModel):
    model_config = ConfigDict(extra="allow", defer_build=True)
    entityValue: str = Field(description="Key id, or the user ARN in some notices", examples=["AKIAIOSFODNN7EXAMPLE"])


class HealthDetail(BaseModel):
    model_config = ConfigDict(extra="allow", defer_build=True)
    eventArn: str = Field(description="Health event ARN")
    service: str = Field(description="Always RISK for credential notices", examples=["RISK"])
    eventTypeCode: str = Field(examples=["AWS_RISK_CREDENTIALS_EXPOSED"])
    eventTypeCategory: str | None = Field(None, examples=["issue"])
    startTime: OptionalTimestamp = Field(None, description="When AWS saw the exposure (RFC 1123 or ISO)")
    eventDescription: list[HealthDescription] = Field(default_factory=list)
    affectedEntities: list[HealthEntity] = Field(default_factory=list)
    additionalDetails: dict[str, Any] | None = None
    eventMetadata: dict[str, Any] | None = None


class HealthEvent(Envelope):
    """``AWS Health Event`` for a credential risk (``service: RISK``)."""

    detail: HealthDetail

    def access_key_id(self) -> str:
        """The exposed key: public samples disagree where it sits, so look in every known place."""
        for entity in self.detail.affectedEntities:
            if ACCESS_KEY_ID.match(entity.entityValue.strip()):
                return entity.entityValue.strip()
        for holder, keys in (
            (self.detail.additionalDetails, ("AccessKeyId", "accessKeyId")),
            (self.detail.eventMetadata, ("publicKey", "accessKeyId", "AccessKeyId")),
        ):
            for key in keys:
                value = str((holder or {}).get(key, "")).strip()
                if ACCESS_KEY_ID.match(value):
                    return value
        for description in self.detail.eventDescription:
            found = ACCESS_KEY_IN_TEXT.search(description.latestDescription)
            if found:
                return found.group(1)
        raise BadInput(
            "health event: field 'detail.affectedEntities': no access key id found in "
            "affectedEntities[].entityValue, additionalDetails.AccessKeyId, eventMetadata.publicKey "
            "or eventDescription[].latestDescription"
        )

    def user_hint(self) -> str | None:
        """A user name or ARN the notice gives, if any (for the summary only; IAM decides the owner)."""
        for entity in self.detail.affectedEntities:
            if entity.entityValue.startswith("arn:"):
                return entity.entityValue
        meta = self.detail.eventMetadata or {}
        return str(meta["userName"]) if meta.get("userName") else None

    def description(self) -> str:
        return " ".join(d.latestDescription for d in self.detail.eventDescription).strip()


def parse_health(event: Any, partition: str = "aws") -> HealthEvent:
    model = validate(HealthEvent, event, "health event", partition)
    if model.source != "aws.health":
        raise BadInput(f"health event: field 'source': expected 'aws.health', got {shown(model.source)}")
    if model.detail_type not in HEALTH_DETAIL_TYPES:
        raise BadInput(f"health event: field 'detail-type': expected one of {sorted(HEALTH_DETAIL_TYPES)}")
    if model.detail.eventTypeCode not in HEALTH_CREDENTIAL_CODES:
        raise BadInput(
            f"health event: field 'detail.eventTypeCode': {shown(model.detail.eventTypeCode)} is not a "
            f"credential-risk event (expected one of {sorted(HEALTH_CREDENTIAL_CODES)})"
        )
    if model.detail.eventTypeCode != CONSOLE_COMPROMISE:  # a console notice names a user or root, not a key
        model.access_key_id()  # fail now, before anything changes, if no key id is found
    return model


# --- GuardDuty ----------------------------------------------------------------------------
class AccessKeyDetails(BaseModel):
    model_config = ConfigDict(extra="allow", defer_build=True)
    accessKeyId: str | None = Field(None, examples=["AKIAIOSFODNN7EXAMPLE"])
    principalId: str | None = None
    userName: str | None = Field(None, description="IAM user name, or role name for AssumedRole", max_length=128)
    userType: str | None = Field(None, examples=["IAMUser", "AssumedRole", "Root"])


class InstanceDetails(BaseModel):
    model_config = ConfigDict(extra="allow", defer_build=True)
    instanceId: str | None = Field(None, pattern=INSTANCE_ID.pattern, examples=["i-0fedcba9876543210"])
    instanceType: str | None = None
    iamInstanceProfile: dict[str, Any] | None = None


class FindingResource(BaseModel):
    model_config = ConfigDict(extra="allow", defer_build=True)
    resourceType: str = Field(examples=["AccessKey", "Instance", "AttackSequence", "ECSCluster", "Lambda"])
    accessKeyDetails: AccessKeyDetails | None = None
    instanceDetails: InstanceDetails | None = None
    # the other families (responder.findings.models)
    s3BucketDetails: list[S3BucketDetail] | None = None
    ecsClusterDetails: EcsClusterDetails | None = None
    containerDetails: ContainerDetails | None = None
    lambdaDetails: LambdaDetails | None = None
    eksClusterDetails: EksClusterDetails | None = None
    rdsDbInstanceDetails: RdsDbInstanceDetails | None = None


class FindingService(BaseModel):
    model_config = ConfigDict(extra="allow", defer_build=True)
    additionalInfo: dict[str, Any] | None = None
    archived: Annotated[bool, Strict()] = False
    eventFirstSeen: OptionalTimestamp = None
    eventLastSeen: OptionalTimestamp = None
    action: dict[str, Any] | None = None
    count: int | None = None
    detection: Detection | None = None  # Extended Threat Detection: detection.sequence (attack sequences)


class FindingDetail(BaseModel):
    model_config = ConfigDict(extra="allow", defer_build=True)
    id: str = Field(min_length=1)
    type: str = Field(examples=["UnauthorizedAccess:IAMUser/MaliciousIPCaller"])
    severity: Severity = Field(description="0-10; findings below GUARDDUTY_MIN_SEVERITY only notify")
    title: str = ""
    description: str = ""
    accountId: str | None = Field(None, pattern=ACCOUNT_ID.pattern, description="The account the finding is about")
    region: Region | None = Field(None, description="The region of the resource: where isolation acts")
    arn: str | None = None
    resource: FindingResource
    service: FindingService = Field(default_factory=FindingService)
    createdAt: OptionalTimestamp = None
    updatedAt: OptionalTimestamp = None

    @property
    def sample(self) -> bool:
        return str((self.service.additionalInfo or {}).get("sample", "")).lower() == "true"


class GuardDutyEvent(Envelope):
    detail: FindingDetail


def parse_guardduty(event: Any, partition: str = "aws") -> GuardDutyEvent:
    model = validate(GuardDutyEvent, event, "guardduty finding", partition)
    if model.source != "aws.guardduty":
        raise BadInput(f"guardduty finding: field 'source': expected 'aws.guardduty', got {shown(model.source)}")
    if model.detail_type != "GuardDuty Finding":
        raise BadInput("guardduty finding: field 'detail-type': expected 'GuardDuty Finding'")
    details = model.detail.resource.accessKeyDetails
    if details is not None and not model.detail.sample:  # sample findings carry placeholder ids
        where = "guardduty finding: field 'detail.resource.accessKeyDetails"
        if details.userType in ("IAMUser", "AssumedRole") and not IAM_NAME.match(details.userName or ""):
            raise BadInput(
                f"{where}.userName': {shown(details.userName)} is not an IAM user or role name "
                "(1-64 ASCII letters, digits and _+=,.@-)"
            )
        if details.userType == "IAMUser" and details.accessKeyId and not ACCESS_KEY_ID.match(details.accessKeyId):
            raise BadInput(f"{where}.accessKeyId': {shown(details.accessKeyId)} is not an access key id")
    return model


# --- CloudTrail via EventBridge -----------------------------------------------------------
class SessionIssuer(BaseModel):
    model_config = ConfigDict(extra="allow", defer_build=True)
    type: str | None = None
    arn: str | None = None
    userName: str | None = None


class SessionContext(BaseModel):
    model_config = ConfigDict(extra="allow", defer_build=True)
    sessionIssuer: SessionIssuer | None = None


class UserIdentity(BaseModel):
    model_config = ConfigDict(extra="allow", defer_build=True)
    type: str = Field(examples=["IAMUser", "AssumedRole", "Root"])
    principalId: str | None = None
    arn: str | None = Field(None, examples=["arn:aws:iam::123456789012:user/ci-deployer"])
    accountId: str | None = None
    accessKeyId: str | None = Field(None, examples=["AKIAIOSFODNN7EXAMPLE"])
    userName: str | None = None
    sessionContext: SessionContext | None = None
    invokedBy: str | None = None


class CloudTrailDetail(BaseModel):
    model_config = ConfigDict(extra="allow", defer_build=True)
    eventVersion: str | None = None
    userIdentity: UserIdentity
    eventTime: Timestamp
    eventSource: str = Field(examples=["ec2.amazonaws.com"])
    eventName: str = Field(min_length=1, examples=["RunInstances"])
    awsRegion: Region = Field(examples=["ap-south-1"], description="Where the call was made: where containment acts")
    sourceIPAddress: str | None = None
    userAgent: str | None = None
    requestParameters: dict[str, Any] | None = None
    responseElements: dict[str, Any] | None = None
    errorCode: str | None = None
    errorMessage: str | None = None
    eventID: str = Field(min_length=1)
    readOnly: bool | None = None


class CloudTrailEvent(Envelope):
    detail: CloudTrailDetail


# sts: the credential chain; the services of "Guarding the responder"
CLOUDTRAIL_SOURCES = frozenset({"aws.ec2", "aws.autoscaling", "aws.iam", "aws.sts"}) | frozenset(
    GUARD_CALL_SOURCES.values()
)


def cloudtrail_kind_sources() -> frozenset[str]:
    """``aws.ecs``, ``aws.lambda`` ...: the sources of the kinds beyond EC2 (read at call time: no import circle)."""
    from .. import kinds

    return kinds.event_sources_as("aws.")


def parse_cloudtrail(event: Any, partition: str = "aws") -> CloudTrailEvent:
    model = validate(CloudTrailEvent, event, "cloudtrail event", partition)
    if model.detail_type != "AWS API Call via CloudTrail":
        raise BadInput("cloudtrail event: field 'detail-type': expected 'AWS API Call via CloudTrail'")
    sources = CLOUDTRAIL_SOURCES | cloudtrail_kind_sources()
    if model.source not in sources:
        raise BadInput(f"cloudtrail event: field 'source': expected one of {sorted(sources)}")
    if model.detail.eventSource.split(".", 1)[0] != model.source.split(".", 1)[1]:
        raise BadInput(
            f"cloudtrail event: field 'detail.eventSource': {shown(model.detail.eventSource)} does not match "
            f"field 'source' ({shown(model.source)})"
        )
    _check_identity(model.detail.userIdentity)
    return model


def _check_identity(identity: UserIdentity) -> None:
    """What the responder later hands to IAM (the caller's key, user or role name) must be well formed."""
    where = "cloudtrail event: field 'detail.userIdentity"
    if identity.accessKeyId and not ACCESS_KEY_ID.match(identity.accessKeyId):
        raise BadInput(f"{where}.accessKeyId': {shown(identity.accessKeyId)} is not an access key id")
    if identity.type == "IAMUser" and identity.userName is not None and not IAM_NAME.match(identity.userName):
        raise BadInput(f"{where}.userName': {shown(identity.userName)} is not an IAM user name")
    issuer = identity.sessionContext.sessionIssuer if identity.sessionContext else None
    if issuer and issuer.userName is not None and not IAM_NAME.match(issuer.userName):
        raise BadInput(
            f"{where}.sessionContext.sessionIssuer.userName': {shown(issuer.userName)} is not an IAM role name"
        )


# --- Field shapes of the runbooks (responder.runbooks) and the organization sweep's steps -----------------
AccessKeyIdField = Annotated[str, Field(pattern=ACCESS_KEY_ID.pattern, examples=["AKIAIOSFODNN7EXAMPLE"])]
RegionField = Annotated[Region, Field(examples=["eu-west-1"])]
InstanceIdField = Annotated[str, Field(pattern=INSTANCE_ID.pattern, examples=["i-0123456789abcdef0"])]
RoleNameField = Annotated[str, Field(pattern=IAM_NAME.pattern, examples=["deploy-role"])]
UserNameField = Annotated[str, Field(pattern=IAM_NAME.pattern, examples=["ci-deployer"])]
SinceHours = Annotated[float, Strict(), Field(gt=0, le=24 * 90, description="Window: [now - sinceHours, now]")]
AccountIdField = Annotated[str, Field(pattern=ACCOUNT_ID.pattern, examples=["123456789012"])]
INCIDENT_ID = re.compile(r"^inc-[0-9]{8}-[0-9a-f]{10}$")  # responder.shell.context.incident_id_for
IncidentIdField = Annotated[str, Field(pattern=INCIDENT_ID.pattern, examples=["inc-20261120-0123456789"])]
Reason = Annotated[str, Field(min_length=1, max_length=500, description="Why: recorded in the incident")]


# --- Steps of the organization sweep (Step Functions Distributed Map -> the organization function) --------
class AccountSweepStep(BaseModel):
    """One item of the Distributed Map: sweep one member account."""

    model_config = ConfigDict(extra="forbid", defer_build=True)
    step: Literal["sweep-account"]
    incidentId: str = Field(pattern=r"^inc-[0-9]{8}-[0-9a-f]{10}$", description="The organization sweep's incident")
    accountId: AccountIdField
    accessKeyId: AccessKeyIdField | None = None
    sinceHours: SinceHours | None = None
    dryRun: Annotated[bool, Strict()] = False


class OrganizationReportStep(BaseModel):
    """After the map: fold every account's result into one report and notify once."""

    model_config = ConfigDict(extra="forbid", defer_build=True)
    step: Literal["report"]
    incidentId: str = Field(pattern=r"^inc-[0-9]{8}-[0-9a-f]{10}$")
    accounts: list[AccountIdField] = Field(min_length=1, max_length=10_000)
    accessKeyId: AccessKeyIdField | None = None
    sinceHours: SinceHours | None = None
    dryRun: Annotated[bool, Strict()] = False
    protected: list[AccountIdField] = Field(default_factory=list, max_length=10_000)


class AccountOutcomeStep(BaseModel):
    """A map item that ended in an error (its Catch): what Step Functions saw, recorded for the report."""

    model_config = ConfigDict(extra="forbid", defer_build=True)
    step: Literal["account-outcome"]
    incidentId: str = Field(pattern=r"^inc-[0-9]{8}-[0-9a-f]{10}$")
    accountId: AccountIdField
    dryRun: Annotated[bool, Strict()] = False
    error: str = Field(min_length=1, max_length=256, description="Step Functions' error name")
    cause: str | None = Field(default=None, max_length=32_768, description="Step Functions' cause")


OrganizationStep = AccountSweepStep | OrganizationReportStep | AccountOutcomeStep


def parse_organization_step(event: Any, partition: str = "aws") -> OrganizationStep:
    if not isinstance(event, dict):
        raise BadInput("organization step: field 'event': expected a JSON object")
    steps: dict[str, type[BaseModel]] = {
        "sweep-account": AccountSweepStep,
        "account-outcome": AccountOutcomeStep,
        "report": OrganizationReportStep,
    }
    model = steps.get(str(event.get("step")))
    if model is None:
        raise BadInput("organization step: field 'step': expected 'sweep-account', 'account-outcome' or 'report'")
    return validate(model, event, "organization step", partition)  # type: ignore[no-any-return]


def validate(model: type[BaseModel], event: Any, what: str, partition: str = "aws") -> Any:
    """``event`` as ``model``, or ``BadInput`` naming each bad field (``what`` leads the message)."""
    if not isinstance(event, dict):
        raise BadInput(f"{what}: field 'event': expected a JSON object, got {type(event).__name__}")
    try:
        return model.model_validate(event, context={"partition": partition})
    except ValidationError as exc:
        raise explain(exc, what) from None
