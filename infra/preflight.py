"""Synth-time checks that need the target account: run only when the account is known (``account`` in context, or
the CLI's credentials) and its credentials answer; otherwise nothing is asked and synth goes on (the README's
"Before `cdk deploy`" list says what a team checks by hand).

* ``reservedConcurrency``: Lambda keeps 100 of the account's concurrency limit unreserved; a new account's limit
  is often 10, where reserving anything fails the deploy. (Other functions' reservations are not counted.)
* ``createTrail``: AWS allows five trails per region (a multi-region or organization trail counts in every region
  it logs). With five already logging in the home region, the stack's trail would fail the deploy half-way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .config import ContextError, ResponderConfig
from .trail import TRAIL_NAME

TRAILS_PER_REGION = 5


def trail_quota_problem(trails: Iterable[Mapping[str, Any]], region: str) -> str | None:
    """``DescribeTrails(includeShadowTrails=True)`` of ``region``: the message if this stack's trail cannot fit."""
    others = sorted({str(t.get("TrailARN") or t.get("Name")) for t in trails if t.get("Name") != TRAIL_NAME})
    if len(others) + 1 <= TRAILS_PER_REGION:
        return None
    return (
        f"context 'createTrail' is true, but {region} already has {len(others)} trails ({', '.join(others)}); AWS "
        f"allows {TRAILS_PER_REGION} per region. Set createTrail=false if one of them is a multi-region "
        "management-events trail (it feeds EventBridge as well), or remove one."
    )


UNRESERVED_MINIMUM = 100  # Lambda keeps this much of the account's concurrency unreserved


def concurrency_problem(account_limit: int, reserved: int) -> str | None:
    """Reserving ``reserved`` of an account limit of ``account_limit``: the message if Lambda would refuse it."""
    if account_limit - reserved >= UNRESERVED_MINIMUM:
        return None
    return (
        f"context 'reservedConcurrency' reserves {reserved} concurrent executions, but the account's limit is "
        f"{account_limit} and Lambda keeps {UNRESERVED_MINIMUM} unreserved: it needs a limit of at least "
        f"{reserved + UNRESERVED_MINIMUM}. Request a higher limit (Service Quotas, Lambda concurrent executions), "
        "reserve less, or set reservedConcurrency to {} (nothing reserved)."
    )


def check_account(config: ResponderConfig) -> None:
    """Ask the account (the CLI's credentials) what a setting would break; any error in asking: skip the check."""
    if not config.account:
        return
    reserved = sum(n for handler, n in config.reserved_concurrency if handler != "organization" or config.organization)
    problems = [_ask_concurrency(config, reserved) if reserved else None]
    if config.create_trail:
        problems.append(_ask_trails(config))
    for problem in problems:
        if problem:
            raise ContextError(problem)


def _client(service: str, region: str) -> Any:
    import boto3
    from botocore.config import Config

    quick = Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 2})
    return boto3.client(service, region_name=region, config=quick)


def _ask_concurrency(config: ResponderConfig, reserved: int) -> str | None:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        settings = _client("lambda", config.home_region).get_account_settings()
        limit = int(settings["AccountLimit"]["ConcurrentExecutions"])
    except (BotoCoreError, ClientError, KeyError, TypeError, ValueError):
        return None  # no credentials, not allowed, or not answered: the README says how to check by hand
    return concurrency_problem(limit, reserved)


def _ask_trails(config: ResponderConfig) -> str | None:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        trails = _client("cloudtrail", config.home_region).describe_trails(includeShadowTrails=True)["trailList"]
    except (BotoCoreError, ClientError, KeyError):
        return None
    return trail_quota_problem(trails, config.home_region)
