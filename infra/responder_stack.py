"""The responder stack, in the home region: topic, tables, one function per trigger, rules, alarms."""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws, Duration, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct
from responder.actions.iam import DENY_ALL, QUARANTINE_POLICY_NAME
from responder.core import own_names
from responder.shell import catalog

from .alarms import FailureAlarms
from .chat import ChatChannels
from .config import ResponderConfig
from .console_test_events import ShareableTestEvents
from .functions import ResponderFunction, powertools_layer
from .guard import GUARD_PATTERN, Heartbeat
from .nag import acknowledge
from .notifications import TeamTopic
from .organization import OrganizationHub, sweep_state_machine_arn
from .permissions import boundary_document, check_boundary_size
from .policy_documents import OWN_ROLE_PATH, boundary_read_wildcards
from .rules import GUARDDUTY_PATTERN, HEALTH_PATTERN, IAM_CLOUDTRAIL_PATTERN, REGIONAL_CLOUDTRAIL_PATTERN, TriggerRule
from .tables import ResponderTables
from .trail import ManagementTrail

# handler -> (timeout s, memory MB). Sweeping every region is CPU-bound in one Python process (see bench/):
# 1,769 MB is the size that gets one full vCPU; the launch watcher acts on one region only.
FUNCTION_SIZES = {
    "health": (900, 1769),
    "guardduty": (900, 1769),
    "cloudtrail": (300, 1024),
    "runbook": (900, 1769),
    "organization": (900, 1769),  # organization mode: one account of the Distributed Map, then the report
    "heartbeat": (120, 512),  # "Guarding the responder": a few reads, rarely a restore
}
# rule name -> (pattern, handler, description). Other regions' events arrive via the forwarders.
ROUTES: dict[str, tuple[dict[str, Any], str, str]] = {
    "HealthRule": (HEALTH_PATTERN, "health", "AWS Health credential-risk notices -> contain the key"),
    "GuardDutyRule": (GUARDDUTY_PATTERN, "guardduty", "GuardDuty findings (all regions) -> the fitting containment"),
    "LaunchRule": (REGIONAL_CLOUDTRAIL_PATTERN, "cloudtrail", "EC2/Auto Scaling launch calls (all regions) -> ledger"),
    "IamRule": (IAM_CLOUDTRAIL_PATTERN, "cloudtrail", "IAM persistence calls -> ledger"),
    "GuardRule": (GUARD_PATTERN, "cloudtrail", "Calls that tamper with the responder (all regions) -> restore"),
}
# Fixed rule names (responder.core.own_names): a tamper call on a rule is recognised by its name.
RULE_NAMES = {
    "HealthRule": own_names.rule("health"),
    "GuardDutyRule": own_names.rule("guardduty"),
    "LaunchRule": own_names.rule("launch-calls"),
    "IamRule": own_names.rule("iam-calls"),
    "GuardRule": own_names.rule("guard-calls"),
}


class ResponderStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: ResponderConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        self.team = TeamTopic(self, "Notifications", emails=config.notify_emails)
        self.tables = ResponderTables(self, "Tables")
        check_boundary_size(config)
        layer = powertools_layer(self, config.powertools_layer_version)
        boundary = iam.ManagedPolicy(
            self,
            "Boundary",
            description="Compromise responder: permissions boundary of every function role",
            path=OWN_ROLE_PATH,
            document=boundary_document(config),
        )
        acknowledge(
            boundary,
            "AwsSolutions-IAM5[Resource::*]",
            "A permissions boundary grants nothing by itself: it caps each function role at the actions the "
            "responder declares (the roles' own policies scope the resources) and carries the configuration's denies.",
        )
        for read in boundary_read_wildcards(config):
            acknowledge(
                boundary,
                f"AwsSolutions-IAM5[Action::{read}]",
                "The boundary caps reads per service and verb; a read is granted only where a function's own policy "
                "grants it by name. Naming every read would leave no room for protectedPrincipals within IAM's "
                "6,144 characters for a managed policy.",
            )
        # the managed deny-all quarantine: containment attaches it (granted for this policy only), release detaches it
        quarantine = iam.CfnManagedPolicy(
            self,
            "Quarantine",
            managed_policy_name=QUARANTINE_POLICY_NAME,
            description="Compromise responder: deny-all quarantine attached to a contained principal",
            policy_document=DENY_ALL,
        )
        table_env = self.tables.env()
        self.functions: dict[str, ResponderFunction] = {}
        for handler in catalog.handlers(config.organization):
            timeout, memory = FUNCTION_SIZES[handler]
            env = {
                **config.environment(),
                "NOTIFY_TOPIC_ARN": self.team.topic.topic_arn,
                "POWERTOOLS_SERVICE_NAME": "compromise-responder",
                "POWERTOOLS_METRICS_NAMESPACE": "CompromiseResponder",
                "POWERTOOLS_LOG_LEVEL": "INFO",
                "SWEEP_MAX_WORKERS": "24",  # region threads (the sweep's pool is sized from the region count)
                "AWS_MAX_ATTEMPTS": "8",  # adaptive retries per AWS call
                "QUARANTINE_POLICY_ARN": quarantine.ref,  # Ref of a managed policy: its ARN
            }
            if config.organization:
                env["ORGANIZATION_SWEEP_STATE_MACHINE"] = sweep_state_machine_arn()
            if handler == "heartbeat":  # what the stack deployed, to compare with what runs now
                env["STACK_NAME"] = Aws.STACK_NAME
                env["GUARDED_HANDLERS"] = ",".join(catalog.handlers(config.organization))
            for symbol in catalog.tables_for(handler):
                logical = symbol.split(":", 1)[1]
                variable = next(k for k in table_env if k.startswith(logical.upper()))
                env[variable] = table_env[variable]
            self.functions[handler] = ResponderFunction(
                self,
                f"{handler.capitalize()}",
                handler=handler,
                config=config,
                environment=env,
                table_arns=self.tables.arns(),
                topic_arn=self.team.topic.topic_arn,
                layer=layer,
                key=self.team.key,
                boundary=boundary,
                timeout=Duration.seconds(timeout),
                memory_mb=memory,
            )
        self.team.only_these_may_publish([f.role.role_arn for f in self.functions.values()])
        for name, (pattern, handler, description) in ROUTES.items():
            fn = self.functions[handler]
            TriggerRule(self, name, pattern=pattern, function=fn.function, dlq=fn.dlq, description=description,
                        rule_name=RULE_NAMES[name])  # fmt: skip
        beat = self.functions["heartbeat"]
        self.heartbeat = Heartbeat(self, "HeartbeatWatch", function=beat.function, dlq=beat.dlq,
                                   team_topic=self.team.topic, key=self.team.key)  # fmt: skip
        if config.create_trail:
            ManagementTrail(self, "ManagementTrail", organization_id=config.organization_id)
        ShareableTestEvents(
            self,
            "TestEvents",
            functions={handler: fn.function for handler, fn in self.functions.items()},
            create_registry=config.create_test_event_registry,
        )
        FailureAlarms(self, "Alarms", topic=self.team.topic, functions=list(self.functions.values()))
        if config.organization:
            OrganizationHub(
                self,
                "OrganizationHub",
                config=config,
                function_roles=[f.role for f in self.functions.values()],
                worker=self.functions["organization"].function,
            )
        if config.chat_channels:  # nothing at all is created without channels
            ChatChannels(self, "Chat", topic=self.team.topic, channels=config.chat_channels)
