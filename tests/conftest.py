"""Shared fixtures: an emulated account per test, and ``invoke`` - the real handler, every AWS call of which is
evaluated against its function's IAM policy (or the member role's), resource ARNs and conditions included, as
AWS would (least privilege: a call the policy does not allow fails the test)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from responder.shell import catalog

from compromise_responder.tools.emulator import DEFAULT_REGIONS, EmulatedAws, LambdaContext
from compromise_responder.tools.emulator.authorization import NEEDS_NO_PERMISSION
from tests.policies import MEMBER, policies

HANDLER_TESTS = {
    "test_heartbeat.py",
    "test_guard.py",
    "test_health.py",
    "test_guardduty.py",
    "test_guardduty_families.py",
    "test_cloudtrail.py",
    "test_runbook.py",
    "test_persistence.py",
    "test_organization.py",
    "test_chain.py",
    "test_left_behind_logs.py",
    "test_capacity_kinds.py",
}
# Granted although no test path calls it, each with the reason.
REQUIRED_BY_LIBRARIES = {
    "dynamodb:GetItem": "Powertools idempotency reads the record when a failed conditional put does not return it "
    "(its documented IAM requirement: GetItem, PutItem, UpdateItem, DeleteItem)",
}
# handler -> IAM actions its function's policy grants, in single-account and in organization mode
DECLARED_IN = {
    mode: {handler: catalog.permissions_for(handler, mode, security_hub=True) for handler in catalog.handlers(mode)}
    for mode in (False, True)
}
DECLARED = {h: DECLARED_IN[False].get(h, set()) | DECLARED_IN[True][h] for h in catalog.HANDLER_FLOWS}
DECLARED[MEMBER] = {p for c in catalog.member_capabilities() for p in c.permissions}
USED: dict[str, set[str]] = {handler: set() for handler in DECLARED}  # over the whole session


@pytest.fixture
def aws(request: pytest.FixtureRequest) -> Iterator[EmulatedAws]:
    """The emulated account, its world the default regions, or those a test asks for with
    ``@pytest.mark.regions("us-east-1", ...)`` (when more regions, or other ones, are the point)."""
    marker = request.node.get_closest_marker("regions")
    with EmulatedAws(regions=tuple(marker.args) if marker else DEFAULT_REGIONS) as emulated:
        yield emulated


@pytest.fixture
def context() -> LambdaContext:
    return LambdaContext()


Invoke = Callable[..., dict[str, Any]]


@pytest.fixture
def invoke(aws: EmulatedAws, context: LambdaContext) -> Invoke:
    """``invoke("health", event)`` runs ``handlers.health.handler`` and checks its AWS calls."""

    def run(handler: str, event: Any, ctx: Any = None) -> dict[str, Any]:
        module = importlib.import_module(f"handlers.{handler}")
        aws.recorder.reset()
        aws.authorization.denied.clear()
        aws.authorization.implied.clear()
        try:
            with aws.authorization.acting(policies(handler, aws.account)):
                return module.handler(event, ctx or context)  # type: ignore[no-any-return]
        finally:
            for account, used in aws.recorder.by_account.items():
                policy = handler if account == aws.account else MEMBER  # member calls use the member role
                USED[policy] |= used - NEEDS_NO_PERMISSION
            for account, used in aws.authorization.implied.items():  # iam:PassRole of a CreateFlowLogs ...
                USED[handler if account == aws.account else MEMBER] |= used
            denied = [f"{call.account} {request.action} on {request.resource} {dict(request.context)} ({why})"
                      for call, request, why in aws.authorization.denied]  # fmt: skip
            assert not denied, f"{handler}: calls its role's policy does not allow: {denied}"

    return run


def security_groups(ec2, instance_id: str) -> set[str]:
    """The instance's groups, read both ways AWS reports them (instance attribute and interfaces): they must agree.
    moto gap: it reports an interface's groups as the union of the interface's and the instance attribute's."""
    described = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    interfaces = {g["GroupId"] for eni in described["NetworkInterfaces"] for g in eni["Groups"]}
    if len(described["NetworkInterfaces"]) == 1:
        assert {g["GroupId"] for g in described["SecurityGroups"]} == interfaces
    return interfaces


# --- tiers: a seconds-long inner loop (`make unit`), the emulated engine, the synthesized stack, the rehearsal ------
# Every test gets one tier marker, decided here so that no test file has to remember it.
REHEARSAL_FILES = {"test_deploy.py"}
STACK_FILES = {"test_stack.py", "test_organization_stack.py"}
EMULATED_FIXTURES = {"aws", "invoke"}
EMULATION_WORDS = ("compromise_responder.tools.emulator", "moto", "EmulatedAws", "moto_server")


def _emulated_module(path: Any, seen: dict[Any, bool] = {}) -> bool:  # noqa: B006 - a cache on purpose
    if path not in seen:
        text = path.read_text() if path.exists() else ""
        seen[path] = any(word in text for word in EMULATION_WORDS)
    return seen[path]


def tier_of(item: pytest.Item) -> str:
    name = item.path.name
    if name in REHEARSAL_FILES:
        return "rehearsal"
    if name in STACK_FILES:
        return "stack"
    if EMULATED_FIXTURES & set(getattr(item, "fixturenames", ())) or _emulated_module(item.path):
        return "engine"
    return "unit"


# Files whose module- or session-scoped fixture is expensive (a synthesis, the rehearsal, the corpus's accounts):
# under `--dist loadgroup` each such file stays on one worker; every other test is spread over the workers alone.
ONE_WORKER_FILES = {"test_deploy.py", "test_stack.py", "test_organization_stack.py", "test_hostile_corpus.py"}


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by these markers
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    grouping = bool(getattr(config.option, "loadgroup", False))  # set in xdist's workers under --dist loadgroup
    for item in items:
        item.add_marker(getattr(pytest.mark, tier_of(item)))
        if item.path.name in ONE_WORKER_FILES and config.pluginmanager.hasplugin("xdist"):
            item.add_marker(pytest.mark.xdist_group(item.path.stem))
            if grouping:
                _name_group(item, item.path.stem)


def _name_group(item: pytest.Item, group: str) -> None:
    """The ``@group`` suffix xdist's controller schedules a group by. pytest-xdist 3.8 writes it to
    ``item._nodeid``, which pytest 9 no longer reads (the node id is ``item._id``): without this, every group was
    split over the workers and the rehearsal ran on both (2 x 2 minutes)."""
    if "@" in item.nodeid or not hasattr(item, "_id"):
        return  # an xdist/pytest pair that suffixes it itself
    from _pytest.nodeid import coerce_node_id

    item._id = coerce_node_id(f"{item.nodeid}@{group}")


# --- least privilege, the other direction: every granted permission is exercised by some test --------------
# Checked when the session ends (whatever the test order, also under pytest-xdist, whose workers report
# what they used to the controller), and only when every handler test file ran.
_RAN: set[str] = set()


def pytest_collection_finish(session: pytest.Session) -> None:
    _RAN.update(item.path.name for item in session.items)


class _WorkerReports:
    """On the xdist controller: collect what each worker's handlers used."""

    @pytest.hookimpl
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        output = getattr(node, "workeroutput", {})
        for handler, used in output.get("least_privilege_used", {}).items():
            USED[handler] |= set(used)
        _RAN.update(output.get("least_privilege_ran", []))


def pytest_configure(config: pytest.Config) -> None:
    if config.pluginmanager.hasplugin("xdist") and not hasattr(config, "workeroutput"):
        config.pluginmanager.register(_WorkerReports(), "least-privilege-worker-reports")


def unused_grants() -> set[str]:
    granted = set().union(*DECLARED.values())
    return granted - set().union(*USED.values()) - set(REQUIRED_BY_LIBRARIES)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if hasattr(config, "workeroutput"):  # an xdist worker: hand its findings to the controller
        config.workeroutput["least_privilege_used"] = {h: sorted(u) for h, u in USED.items()}
        config.workeroutput["least_privilege_ran"] = sorted(_RAN)
        return
    if not _RAN >= HANDLER_TESTS or exitstatus != 0:
        return
    unused = unused_grants()
    if unused:
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(
                f"LEAST PRIVILEGE: granted but never exercised by any test: {sorted(unused)} - remove them or "
                "test the path that needs them",
                red=True,
            )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
