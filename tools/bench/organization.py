"""The organization case: ``sweep-organization`` over 50 accounts x 17 regions, a spot swarm in 10 of them.

The Distributed Map's items run here through the organization function itself (``handlers.organization``),
``MAX_CONCURRENCY`` at a time in threads, then its report step - as the state machine would run them, except
that here they share one process (in AWS each item is its own Lambda invocation, so these wall times are an
upper bound). Every AWS call waits ``latency`` first. The Step Functions and Lambda cost of one sweep is
projected from the measured per-account durations and AWS's public us-east-1 list prices.
"""

from __future__ import annotations

import contextlib
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

from compromise_responder.tools.emulator import EmulatedAws, LambdaContext
from compromise_responder.tools.emulator.scenarios import spot_swarm

from .instrument import RssSampler
from .scenario import ALLOWED_REGIONS, REGIONS

ACCOUNTS = 50
ATTACKED = 10
SWARM_REGIONS = ("us-west-2", "sa-east-1", "eu-north-1", "ap-south-1", "ap-northeast-1")
MAX_CONCURRENCY = 20  # the stack's default organizationMaxConcurrency
LAMBDA_GB = 1.769  # the organization function's memory
# us-east-1 list prices: Step Functions standard transitions, express requests and GB-s (64 MB minimum),
# Lambda arm64 GB-s and requests
STANDARD_TRANSITION = 0.025 / 1000
EXPRESS_REQUEST = 1.0 / 1_000_000
EXPRESS_GB_SECOND = 0.00001667
EXPRESS_GB = 0.064
LAMBDA_GB_SECOND = 0.0000133334
LAMBDA_REQUEST = 0.20 / 1_000_000
CHILD_TRANSITIONS = 2  # a child's task, and a retry or its outcome record (ItemProcessor in infra/organization.py)


@dataclass
class OrganizationRun:
    accounts: int
    attacked: int
    regions: int
    latency: float
    wall_s: float
    account_median_s: float
    account_max_s: float
    report_s: float
    calls: int
    rss_peak_mb: float | None
    contained: bool
    projected_cost_usd: float
    cost_breakdown: dict[str, float]
    express_children_usd: float  # what the children would have cost as Express executions (for comparison)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def example_key(n: int) -> str:
    """Distinct access key ids in the AWS documentation's example style (access key ids are unique in AWS)."""
    return f"AKIA{n:02d}OSFODN7EXAMPLE"


def run_organization(latency: float, accounts: int = ACCOUNTS, attacked: int = ATTACKED) -> OrganizationRun:
    from handlers import organization

    env = {"ALLOWED_REGIONS": ALLOWED_REGIONS, "MEMBER_ROLE_NAME": "CompromiseResponderMember"}
    with EmulatedAws(regions=REGIONS, env=env, lookup_quota=True) as aws:
        members = aws.organization(accounts)
        swarms = {}
        for n, account in enumerate(members[:attacked]):
            view = aws.in_account(account)
            swarms[account] = (view, spot_swarm(view, regions=SWARM_REGIONS, requests_per_region=2,
                                                key=example_key(2 * n), team_key=example_key(2 * n + 1)))  # fmt: skip
        incident = "inc-20261201-0123456789"
        aws.recorder.reset()
        aws.latency.seconds = latency
        memory = RssSampler()
        memory.start()
        durations: list[float] = []

        def item(account: str) -> None:
            began = time.perf_counter()
            step = {"step": "sweep-account", "incidentId": incident, "accountId": account, "sinceHours": 24}
            with contextlib.suppress(Exception):  # a failed item is retried / tolerated by the map: see 'contained'
                organization.handler(step, LambdaContext())
            durations.append(time.perf_counter() - began)

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=MAX_CONCURRENCY) as pool:
            list(pool.map(item, members))
        report_began = time.perf_counter()
        final = organization.handler(
            {"step": "report", "incidentId": incident, "accounts": members, "sinceHours": 24}, LambdaContext()
        )
        wall = time.perf_counter() - started
        report_s = time.perf_counter() - report_began
        memory.stop()
        aws.latency.seconds = 0.0
        calls = aws.recorder.total()
        contained = len(final["accounts"]) == accounts and all(
            {view.instance_states(r)[i] for r, ids in swarm.attacker_instances.items() for i in ids} == {"terminated"}
            for view, swarm in swarms.values()
        )
    cost = project_cost(durations, report_s)
    return OrganizationRun(
        accounts=accounts,
        attacked=attacked,
        regions=len(REGIONS),
        latency=latency,
        wall_s=wall,
        account_median_s=statistics.median(durations),
        account_max_s=max(durations),
        report_s=report_s,
        calls=calls,
        rss_peak_mb=memory.peak_mb,
        contained=contained,
        projected_cost_usd=round(sum(cost.values()), 4),
        cost_breakdown={k: round(v, 5) for k, v in cost.items()},
        express_children_usd=round(express_children_cost(durations), 5),
    )


def project_cost(durations: list[float], report_s: float) -> dict[str, float]:
    """One sweep: a standard execution (its own few transitions), one STANDARD child per account (billed per
    state transition, ``CHILD_TRANSITIONS`` each, no duration charge), one Lambda invocation per account and one
    for the report. What Express children would have cost (their duration billed) is beside it, for comparison."""
    children = len(durations)
    return {
        "step functions (standard run + children)": (4 + children * CHILD_TRANSITIONS) * STANDARD_TRANSITION,
        "lambda": (sum(durations) + report_s) * LAMBDA_GB * LAMBDA_GB_SECOND + (children + 1) * LAMBDA_REQUEST,
    }


def express_children_cost(durations: list[float]) -> float:
    """The same children as Express executions (the definition before: cut at 300 s), for comparison only."""
    return len(durations) * EXPRESS_REQUEST + sum(durations) * EXPRESS_GB * EXPRESS_GB_SECOND


def per_thousand_accounts(account_seconds: float) -> dict[str, float]:
    """Step Functions' cost of 1,000 accounts whose sweeps last ``account_seconds`` each: Standard children
    (what the stack deploys) against Express children (billed for their duration)."""
    return {
        "standard children": 1000 * CHILD_TRANSITIONS * STANDARD_TRANSITION,
        "express children": express_children_cost([account_seconds] * 1000),
        "lambda": 1000 * account_seconds * LAMBDA_GB * LAMBDA_GB_SECOND,
    }


def organization_table(run: OrganizationRun) -> Any:
    from rich.table import Table

    table = Table(title=f"sweep-organization: {run.accounts} accounts x {run.regions} regions, swarm in {run.attacked}")
    for column in ("at", "wall", "per account (median / max)", "report", "AWS calls", "peak RSS", "contained",
                   "projected cost / sweep"):  # fmt: skip
        table.add_column(column)
    table.add_row(
        f"{run.latency * 1000:.0f} ms/call",
        f"{run.wall_s:.1f} s",
        f"{run.account_median_s:.1f} / {run.account_max_s:.1f} s",
        f"{run.report_s:.1f} s",
        str(run.calls),
        f"{run.rss_peak_mb or 0:.0f} MB",
        "yes" if run.contained else "NO",
        f"${run.projected_cost_usd:.4f}",
    )
    return table
