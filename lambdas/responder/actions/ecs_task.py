"""ECS task isolation (GuardDuty Runtime / Malware findings on a task, ECS attack sequences): the task keeps
running for evidence; its network interfaces go to the VPC's quarantine group (no rules), via the allow-all group
that makes open flows untracked so the quarantine cuts them - the same two groups as instance isolation. The
original groups are recorded on each interface first (the way back)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..aws import AWS_ERRORS, describe_error
from ..core import capabilities as cap
from ..core.model import Outcome, Step
from .base import Action, ActionName, Words, register
from .isolation import (
    ISOLATED_TAG,
    ORIGINAL_GROUPS_TAG,
    QUARANTINE_GROUP_GRANTS,
    chunked_tags,
    quarantine_group,
    untracking_group,
)

ECS_TASK = cap.arn("ecs", "task/*")


def task_interfaces(task: dict[str, Any]) -> list[str]:
    """The ENI ids of a task (awsvpc network mode): ``attachments[].details[name=networkInterfaceId]``."""
    return [
        str(detail["value"])
        for attachment in task.get("attachments") or []
        if attachment.get("type") == "ElasticNetworkInterface"
        for detail in attachment.get("details") or []
        if detail.get("name") == "networkInterfaceId" and detail.get("value")
    ]


@register
class IsolateTask(Action):
    """Move every network interface of an ECS task to the quarantine security group (the task keeps running, for
    evidence); its original groups are recorded on each interface."""

    name = ActionName.ISOLATE_TASK
    service = "ec2"
    grants = (
        *QUARANTINE_GROUP_GRANTS,
        cap.Grant(("ec2:ModifyNetworkInterfaceAttribute",), (cap.EC2_NETWORK_INTERFACE, cap.EC2_SECURITY_GROUP)),
        cap.Grant(("ec2:CreateTags",), (cap.EC2_NETWORK_INTERFACE, cap.EC2_SECURITY_GROUP), (cap.ONLY_OWN_TAG_KEYS,)),
    )
    phase = 37
    words = Words(
        "ECS task",
        "ECS tasks",
        "isolated (interfaces in the quarantine security group, task kept running)",
        "to isolate (interfaces to the quarantine security group)",
        short="isolated",
        one="{noun} {target} {short} (kept running)",
    )

    def run(self, client: Any, steps: Sequence[Step]) -> list[Outcome]:
        return [self.isolate(client, step) for step in steps]

    def isolate(self, client: Any, step: Step) -> Outcome:
        interfaces: Sequence[tuple[str, Sequence[str]]] = step.params["interfaces"]
        incident = str(step.params.get("incidentId") or "")
        moved = []
        try:
            untracking = untracking_group(client, step.params["vpcId"], incident)
            quarantine = quarantine_group(client, step.params["vpcId"], incident)
            for eni, original in interfaces:
                record = chunked_tags(ORIGINAL_GROUPS_TAG, f"{eni}={'+'.join(original)}")
                client.create_tags(
                    Resources=[eni], Tags=[*record, {"Key": ISOLATED_TAG, "Value": incident or "isolated"}]
                )
                client.modify_network_interface_attribute(NetworkInterfaceId=eni, Groups=[untracking])
                client.modify_network_interface_attribute(NetworkInterfaceId=eni, Groups=[quarantine])
                moved.append(f"{eni} ({'+'.join(original)} -> {quarantine})")
        except AWS_ERRORS as exc:
            done = f"; already moved: {', '.join(moved)}" if moved else ""
            return step.outcome("failed", describe_error(exc) + done)
        return step.outcome("done", "interfaces moved to the quarantine group: " + ", ".join(moved))
