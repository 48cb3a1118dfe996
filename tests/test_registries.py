"""The registries of GuardDuty finding families and of runbooks (``responder.findings``, ``responder.runbooks``).

Every registered unit is complete (Cloud Custodian's meta-lint): it says what it answers, where its target is,
which flows it may run - each capability of which declares its permissions, all granted to its handler's function
- and, in words, what it does. And a unit registered inside a test, that no other file knows, is dispatched,
parsed, granted what its flow declares and run through the real handler on emulated AWS, then unregistered.
"""

from __future__ import annotations

import json
import typing
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict
from responder import findings, runbooks
from responder.core import capabilities
from responder.findings.base import FindingFamily, family
from responder.findings.notify_only import FALLBACK
from responder.flows import NOTICE, notify_only
from responder.flows.base import RECORD, Flow
from responder.parse.events import BadInput, FindingDetail, RegionField, parse_guardduty
from responder.report import Report
from responder.runbooks.base import Runbook, RunbookBase, runbook
from responder.shell import catalog
from responder.shell.context import ResponseContext

from tests.report_truth import assert_truthful

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "guardduty" / "runtime-instance-trojan.json"
FAMILIES = findings.families()
RUNBOOKS = runbooks.load().copy()


def granted(handler: str) -> set[str]:
    return {c.key for c in catalog.capabilities_for(handler, organization=True, security_hub=True)}


def assert_flows_declared(flows: tuple[Flow, ...], handler: str, unit: str) -> None:
    assert flows, f"{unit}: no flow"
    for flow in flows:
        assert flow.name and flow.uses, f"{unit}: flow {flow.name!r} uses nothing"
        for capability in flow.uses:
            assert capability.permissions, f"{unit}: {capability.key} declares no permission"
            assert capabilities.REGISTRY.get(capability.key) == capability, f"{unit}: {capability.key} undeclared"
        missing = {c.key for c in flow.uses} - granted(handler)
        assert not missing, f"{unit}: the {handler} function is not granted {missing}"


# --- every finding family is complete -----------------------------------------------------------------------
def mentions(annotation: Any, model: type[BaseModel]) -> bool:
    return annotation is model or any(mentions(a, model) for a in typing.get_args(annotation))


def typed_at(path: str) -> Any:
    """The parser's annotation of ``path`` under a finding's ``detail`` (``resource.lambdaDetails``)."""
    annotation: Any = FindingDetail
    for part in path.split("."):
        holder = next(a for a in (annotation, *typing.get_args(annotation)) if isinstance(a, type))
        assert issubclass(holder, BaseModel) and part in holder.model_fields, f"the parser does not type {path}"
        annotation = holder.model_fields[part].annotation
    return annotation


def example(unit: FindingFamily) -> dict[str, Any]:
    """A finding of the family's first type and resource type (``*`` read as ``X``)."""
    event = json.loads(FIXTURE.read_text())
    detail = event["detail"]
    detail["type"] = unit.types[0].replace("*", "X")
    detail["severity"] = unit.below - 1 if unit.below is not None else 8.0
    detail["resource"] = {"resourceType": unit.resource_types[0] if unit.resource_types else "SomethingNew"}
    if unit.user_type:
        detail["resource"]["accessKeyDetails"] = {"accessKeyId": "AKIAIOSFODNN7EXAMPLE", "userName": "ci-deployer",
                                                  "userType": unit.user_type}  # fmt: skip
    return event


@pytest.mark.parametrize("unit", FAMILIES, ids=lambda f: f.name)
def test_every_family_is_complete(unit: FindingFamily):
    assert unit.name.strip() and unit.reason.strip() and unit.response.strip()
    assert unit.types and all(t.strip() for t in unit.types)
    assert unit.resource_types or unit is FAMILIES[-1], f"{unit.name}: which resource.resourceType does it answer?"
    assert unit.details or unit is FAMILIES[-1], f"{unit.name}: where does the finding name its target?"
    for path, model in unit.details:  # typed by the parser: a malformed one is refused before anything changes
        assert mentions(typed_at(path), model), f"{unit.name}: the parser types {path} otherwise than {model}"
    assert_flows_declared(unit.flows, "guardduty", unit.name)
    if unit.respond is None:  # it only notifies
        assert unit.flows == (NOTICE,), f"{unit.name}: a family that only notifies needs only the notice"
    assert unit.respond is None or unit.respond.__module__.startswith("responder.findings."), unit.name


@pytest.mark.parametrize("unit", FAMILIES, ids=lambda f: f.name)
def test_no_family_is_shadowed_by_an_earlier_one(unit: FindingFamily):
    assert findings.family_for(parse_guardduty(example(unit)).detail) is unit


def test_the_last_family_answers_every_finding():
    assert FAMILIES[-1] is FALLBACK and FALLBACK.types == ("*",) and FALLBACK.resource_types is None
    assert [f.order for f in FAMILIES] == sorted({f.order for f in FAMILIES})


def test_the_guardduty_function_is_granted_exactly_the_families_flows_and_the_notice():
    expected = {c.key for f in (*findings.flows(), NOTICE) for c in (*f.uses, *f.security_hub)}
    assert granted("guardduty") - expected <= {c.key for c in catalog.IN_EVERY_MEMBER} | {"record:idempotency"}
    assert expected <= granted("guardduty")


# --- every runbook is complete ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(RUNBOOKS))
def test_every_runbook_is_complete(name: str):
    unit: Runbook[Any] = RUNBOOKS[name]
    assert unit.name == name and unit.model.runbook_name() == name
    module = f"responder.runbooks.{name.replace('-', '_')}"
    assert unit.model.__module__ == module and unit.run.__module__ == module, f"{name}: one module, {module}"
    assert unit.doc and unit.effect.strip(), f"{name}: say what it does (the model's docstring) and its effect"
    assert unit.model.model_config.get("extra") == "forbid", f"{name}: an unexpected field must be refused"
    for field in unit.model.one_of:
        assert field in unit.model.model_fields and not unit.model.model_fields[field].is_required()
    assert_flows_declared(unit.flows, "runbook", name)
    samples = [p for p in (ROOT / "events").glob("runbook-*.json") if json.loads(p.read_text())["runbook"] == name]
    assert samples, f"{name}: no sample in events/"
    for sample in samples:
        assert type(runbooks.parse_runbook(json.loads(sample.read_text()))) is unit.model


def test_the_runbook_function_is_granted_the_runbooks_flows_and_the_notice():
    expected = {c.key for f in (*runbooks.flows(), NOTICE) for c in (*f.uses, *f.security_hub)}
    assert granted("runbook") - expected <= {c.key for c in catalog.IN_EVERY_MEMBER}
    assert expected <= granted("runbook")


# --- a fake family and a fake runbook, known to no other file ---------------------------------------------
LIST_DETECTORS = capabilities.Capability(  # granted to neither function: only a fake unit's flow grants it
    "read", "test-list-detectors", (capabilities.Grant(("guardduty:ListDetectors",)),), "a registry test's read"
)
FAKE_FLOW = Flow("test-detectors", (LIST_DETECTORS, *RECORD), "a registry test's flow: list the detectors, notify")


def detectors(ctx: ResponseContext, region: str) -> list[str]:
    return sorted(ctx.clients.get("guardduty", region).list_detectors()["DetectorIds"])


class GadgetDetails(BaseModel):
    """Where the fake family's findings name their target: a place the parser does not type."""

    model_config = ConfigDict(extra="allow")
    gadgetName: str


@pytest.fixture
def fake_family() -> Iterator[FindingFamily]:
    def respond(ctx: ResponseContext, finding: FindingDetail, region: str, facts: dict[str, Any]) -> Report:
        gadget = unit.read(finding, "resource.gadgetDetails")
        facts = {**facts, "gadget": gadget.gadgetName, "detectors": detectors(ctx, region)}
        return notify_only(ctx, f"GuardDuty {finding.type}: gadget {gadget.gadgetName}", "high", facts, ["Look."])

    unit = family(
        "Test: a gadget",
        order=65,
        types=("Test:Gadget/*",),
        resources=("Gadget",),
        response="list-detectors",
        reason="list the GuardDuty detectors and notify",
        flows=(FAKE_FLOW,),
        respond=respond,
        details=(("resource.gadgetDetails", GadgetDetails),),
    )
    try:
        yield unit
    finally:
        findings.unregister(unit.name)


def gadget_finding(**gadget: Any) -> dict[str, Any]:
    event = json.loads(FIXTURE.read_text())
    event["id"] = str(uuid.uuid4())
    event["detail"]["type"] = "Test:Gadget/Odd"
    event["detail"]["resource"] = {"resourceType": "Gadget", "gadgetDetails": gadget}
    return event


def test_a_family_registered_in_a_test_is_dispatched_granted_and_run(aws, invoke, fake_family):
    detector = aws.client("guardduty").create_detector(Enable=True)["DetectorId"]
    assert findings.family_for(parse_guardduty(gadget_finding(gadgetName="g-1")).detail) is fake_family
    assert "guardduty:ListDetectors" in catalog.permissions_for("guardduty")
    assert "| Test: a gadget | `Test:Gadget/*` | `Gadget` | `list-detectors`" in findings.readme_table()

    report = invoke("guardduty", gadget_finding(gadgetName="g-1"))  # its call allowed by its flow's grant only

    assert report["facts"]["family"] == "Test: a gadget" and report["facts"]["gadget"] == "g-1"
    assert report["facts"]["detectors"] == [detector]
    [note] = aws.notifications()
    assert "gadget g-1" in note.subject
    assert_truthful(aws, report, [note])


def test_a_registered_familys_malformed_details_are_refused_naming_the_field(aws, invoke, fake_family):
    with pytest.raises(
        BadInput, match=r"field 'detail\.resource\.gadgetDetails\.gadgetName': required field is missing"
    ):
        invoke("guardduty", gadget_finding(name="no gadgetName"))
    assert aws.notifications() == []


def test_an_unregistered_family_is_gone():
    finding = parse_guardduty(gadget_finding(gadgetName="g-1")).detail
    assert findings.family_for(finding) is FALLBACK
    assert "guardduty:ListDetectors" not in catalog.permissions_for("guardduty")


class ListDetectors(RunbookBase):
    """A registry test's runbook: list the GuardDuty detectors of a region; changes nothing."""

    runbook: Literal["test-list-detectors"]
    region: RegionField


@pytest.fixture
def fake_runbook() -> Iterator[None]:
    @runbook(ListDetectors, flows=(FAKE_FLOW,), effect="this only reads")
    def run(ctx: ResponseContext, command: ListDetectors) -> Report:
        report = ctx.new_report(headline=f"GuardDuty detectors in {command.region}", severity="info")
        report.facts["detectors"] = detectors(ctx, command.region)
        report.status = "notified"
        return report

    try:
        yield
    finally:
        runbooks.unregister("test-list-detectors")


def test_a_runbook_registered_in_a_test_is_parsed_granted_and_run(aws, invoke, fake_runbook):
    detector = aws.client("guardduty", "eu-west-1").create_detector(Enable=True)["DetectorId"]
    with pytest.raises(BadInput, match=r"^runbook test-list-detectors: field 'region': .*not a region"):
        runbooks.parse_runbook({"runbook": "test-list-detectors", "region": "moon-1"})
    with pytest.raises(BadInput, match=r"^runbook test-list-detectors: field 'junk': unexpected field$"):
        runbooks.parse_runbook({"runbook": "test-list-detectors", "region": "eu-west-1", "junk": 1})
    assert "guardduty:ListDetectors" in catalog.permissions_for("runbook")
    assert runbooks.effect_of("test-list-detectors") == "this only reads"

    report = invoke("runbook", {"runbook": "test-list-detectors", "region": "eu-west-1", "reason": "registry test"})

    assert report["facts"]["detectors"] == [detector]
    assert report["facts"]["runbook"] == "ListDetectors" and report["facts"]["reason"] == "registry test"
    [note] = aws.notifications()
    assert_truthful(aws, report, [note])


def test_an_unregistered_runbook_is_refused_naming_the_field():
    with pytest.raises(BadInput, match=r"field 'runbook': unknown runbook 'test-list-detectors' \(one of \["):
        runbooks.parse_runbook({"runbook": "test-list-detectors", "region": "eu-west-1"})
    assert "guardduty:ListDetectors" not in catalog.permissions_for("runbook")
    assert runbooks.effect_of("test-list-detectors") == runbooks.DEFAULT_EFFECT


def test_a_unit_registered_twice_is_refused():
    with pytest.raises(ValueError, match="registered twice"):
        findings.register(FAMILIES[0])
    with pytest.raises(ValueError, match="both declare order"):
        family("Test: same place", order=FAMILIES[0].order, types=("*",), resources=None, response="x", reason="x",
               flows=(NOTICE,))  # fmt: skip
    with pytest.raises(ValueError, match="registered twice"):
        runbooks.register(RUNBOOKS["activity"])
    assert findings.families() == FAMILIES and runbooks.load() == RUNBOOKS
