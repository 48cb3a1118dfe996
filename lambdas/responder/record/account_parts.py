"""One account's part of an organization sweep, in the hub's incidents table: its lease, and its record.

Items (beside the incident's, ``pk`` = ``incident#<id>``):
  * ``lease#<account>`` - who sweeps the account now (``owner``: the invocation's request id) and until when
    (``leaseUntil``, epoch seconds: the invocation's remaining time plus a margin). Taken with a conditional
    put, so a second invocation for the same incident and account never sweeps while the first may still run.
  * ``account#<account>`` - the part (``Incidents.save_account_result``): written as each region finishes
    (``state: running``), then whole (``finished``); a part cut short is marked ``timed-out`` or ``failed``
    with Step Functions' error, keeping what it recorded before the cut.

Thin executors: what the records mean is decided in ``flows.organization``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from .store import Incidents

LEASE_MARGIN_SECONDS = 60  # beyond the invocation's remaining time: a clock skew, the freeze after a timeout


class AccountSweepInProgress(RuntimeError):
    """Another invocation holds this account's lease in this incident: nothing was swept (the state machine
    retries this error, waiting in all longer than a lease lasts)."""


def take_lease(incidents: Incidents, incident_id: str, account: str, owner: str, seconds: float) -> None:
    """The account's lease for ``seconds`` (+ margin), unless another owner's lease is still running."""
    now = int(time.time())
    try:
        incidents.client.put_item(
            TableName=incidents.name,
            Item=_lease(incident_id, account, owner, now + int(seconds) + LEASE_MARGIN_SECONDS),
            ConditionExpression="attribute_not_exists(pk) OR leaseUntil < :now",
            ExpressionAttributeValues={":now": {"N": str(now)}},
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
        raise AccountSweepInProgress(
            f"account {account} is being swept for incident {incident_id} by another invocation: not swept twice"
        ) from None


def release_lease(incidents: Incidents, incident_id: str, account: str, owner: str) -> None:
    """Give the lease back (only one's own: a lease that expired may be another invocation's now)."""
    try:
        incidents.client.put_item(
            TableName=incidents.name,
            Item=_lease(incident_id, account, owner, 0),
            ConditionExpression="#owner = :me",
            ExpressionAttributeNames={"#owner": "owner"},
            ExpressionAttributeValues={":me": {"S": owner}},
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise


def _lease(incident_id: str, account: str, owner: str, until: int) -> dict[str, Any]:
    """The account's lease item: held by ``owner`` until ``until`` (epoch seconds; 0: given back)."""
    return {
        "pk": {"S": f"incident#{incident_id}"},
        "sk": {"S": f"lease#{account}"},
        "incidentId": {"S": incident_id},
        "owner": {"S": owner},
        "leaseUntil": {"N": str(until)},
    }


def part_of(incidents: Incidents, incident_id: str, account: str) -> dict[str, Any] | None:
    """The account's recorded part, or None."""
    item = incidents.client.get_item(
        TableName=incidents.name, Key={"pk": {"S": f"incident#{incident_id}"}, "sk": {"S": f"account#{account}"}}
    ).get("Item")
    report = (item or {}).get("report", {}).get("S")
    return json.loads(report) if report else None


def save_part(incidents: Incidents, incident_id: str, account: str, part: Mapping[str, Any]) -> None:
    incidents.save_account_result(incident_id, account, {**part, "account": account})
