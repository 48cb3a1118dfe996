"""RoguePolicy and the planner, table-driven: every branch of the contract's "What is rogue"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from responder.core.arns import principal_names
from responder.core.model import Capacity, Instance, Launch, Principal, RegionEvidence, Suspect, Window
from responder.decide.planner import plan_key_containment, plan_region
from responder.decide.rogue import RoguePolicy

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
WINDOW = Window(NOW - timedelta(hours=72), NOW)
KEY = "AKIAIOSFODNN7EXAMPLE"
POLICY = RoguePolicy(
    protect_tag_key="compromise-responder:protect",
    protected_principals=frozenset({"break-glass-admin", "arn:aws:iam::123456789012:role/deploy-role"}),
    allowed_regions=frozenset({"us-east-1", "eu-west-1"}),
    suspicious_types=("g*", "p*", "inf*", "trn*", "dl*", "f1.*", "vt1.*", "x1*", "x2*", "*.metal"),
)
PROTECT = {"compromise-responder:protect": "true"}
ATTRIBUTED = Suspect(f"launched by {KEY} (RunInstances)", "ledger", compromised=True)


def inst(
    iid: str = "i-0123456789abcdef0",
    *,
    type_: str = "t3.micro",
    region: str = "us-east-1",
    hours_ago: float = 2,
    tags: dict[str, str] | None = None,
) -> Instance:
    return Instance(iid, region, type_, "running", NOW - timedelta(hours=hours_ago), tags or {})


def judge(
    resource: Instance,
    *,
    available: bool = False,
    suspects: dict[str, Suspect] | None = None,
    launchers: dict[str, Launch] | None = None,
):
    evidence = RegionEvidence(
        region=resource.region,
        instances=(resource,),
        attribution_available=available,
        attribution_source="cloudtrail" if available else None,
        suspects=suspects or {},
        launchers=launchers or {},
    )
    return POLICY.judge(resource, evidence, WINDOW)


def launch_by(arn: str, name: str) -> Launch:
    return Launch(
        "e1", "RunInstances", "us-east-1", NOW, "AKIAI44QH8DHBEXAMPLE", arn, "IAMUser", name, ("i-0123456789abcdef0",)
    )


CASES = [
    # (name, resource, kwargs, rogue, reason fragment)
    (
        "rule 1: attributed small instance",
        inst(),
        {"suspects": {"i-0123456789abcdef0": ATTRIBUTED}},
        True,
        "launched by AKIA",
    ),
    (
        "rule 1 beats the protect tag",
        inst(tags=PROTECT),
        {"suspects": {"i-0123456789abcdef0": ATTRIBUTED}},
        True,
        "protect tag overridden",
    ),
    (
        "rule 1 even long before the window",
        inst(hours_ago=500),
        {"suspects": {"i-0123456789abcdef0": ATTRIBUTED}},
        True,
        "launched by",
    ),
    ("protect tag wins over the window rule", inst(type_="p3.16xlarge", tags=PROTECT), {}, False, "protect tag"),
    (
        "protect tag value must be true",
        inst(type_="p3.16xlarge", tags={"compromise-responder:protect": "no"}),
        {},
        True,
        "SUSPICIOUS",
    ),
    (
        "protected principal by name",
        inst(type_="g5.xlarge"),
        {
            "launchers": {
                "i-0123456789abcdef0": launch_by(
                    "arn:aws:iam::123456789012:user/break-glass-admin", "break-glass-admin"
                )
            }
        },
        False,
        "protected principal",
    ),
    (
        "protected role via assumed-role session",
        inst(type_="g5.xlarge"),
        {
            "launchers": {
                "i-0123456789abcdef0": launch_by("arn:aws:sts::123456789012:assumed-role/deploy-role/ci", "deploy-role")
            }
        },
        False,
        "protected principal",
    ),
    (
        "attribution available and nothing attributed",
        inst(type_="g2.8xlarge"),
        {"available": True},
        False,
        "not attributed",
    ),
    ("rule 2: suspicious type inside window", inst(type_="g2.8xlarge"), {}, True, "SUSPICIOUS_INSTANCE_TYPES"),
    ("rule 2: metal glob", inst(type_="c5.metal"), {}, True, "SUSPICIOUS_INSTANCE_TYPES"),
    ("rule 2: disallowed region inside window", inst(region="ap-south-1"), {}, True, "outside ALLOWED_REGIONS"),
    (
        "rule 2: suspicious type outside window",
        inst(type_="g4dn.xlarge", hours_ago=240),
        {},
        False,
        "before the incident window",
    ),
    ("rule 2: small type, allowed region", inst(), {}, False, "not suspicious"),
]


@pytest.mark.parametrize(("name", "resource", "kwargs", "rogue", "fragment"), CASES, ids=[c[0] for c in CASES])
def test_what_is_rogue(name, resource, kwargs, rogue, fragment):
    verdict = judge(resource, **kwargs)
    assert verdict.rogue is rogue, verdict.reason
    assert fragment in verdict.reason


def test_protect_override_is_flagged():
    verdict = judge(inst(tags=PROTECT), suspects={"i-0123456789abcdef0": ATTRIBUTED})
    assert verdict.overrode_protect


def test_non_compromised_suspect_honours_protect_tag():
    event = Suspect("launched in a region outside ALLOWED_REGIONS", "launch-event", compromised=False)
    assert not judge(inst(tags=PROTECT), suspects={"i-0123456789abcdef0": event}).rogue
    assert judge(inst(), suspects={"i-0123456789abcdef0": event}).rogue


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            "arn:aws:sts::123456789012:assumed-role/deploy-role/session",
            {"deploy-role", "arn:aws:iam::123456789012:role/deploy-role"},
        ),
        ("arn:aws:iam::123456789012:user/ci-deployer", {"ci-deployer"}),
        ("ci-deployer", {"ci-deployer"}),
    ],
)
def test_principal_spellings(value, expected):
    assert expected <= principal_names(value)


def spot(sir: str, instance: str, *, created_days_ago: float = 3650, type_: str = "g2.8xlarge", tags=None) -> Capacity:
    return Capacity(
        "spot-request",
        sir,
        "sa-east-1",
        "active",
        NOW - timedelta(days=created_days_ago),
        (type_,),
        tags or {},
        (instance,),
    )


def test_spot_request_is_cancelled_before_its_instance_is_terminated():
    instance = inst("i-0aaaaaaaaaaaaaaaa", type_="g2.8xlarge", region="sa-east-1")
    evidence = RegionEvidence("sa-east-1", (instance,), (spot("sir-08b93456", instance.id),))
    steps = plan_region(evidence, POLICY, WINDOW)
    assert [(s.action, s.target) for s in steps] == [
        ("cancel-spot-request", "sir-08b93456"),
        ("terminate-instance", "i-0aaaaaaaaaaaaaaaa"),
    ]
    assert "rogue spot request sir-08b93456" in steps[1].reason
    assert steps[1].hourly_cost == pytest.approx(2.60)


def test_spot_request_counts_as_launched_when_its_instance_was():
    """moto stamps every spot request with CreateTime 2015-01-01; AWS relaunches persistent requests."""
    instance = inst("i-0aaaaaaaaaaaaaaaa", type_="g2.8xlarge", region="sa-east-1")
    evidence = RegionEvidence("sa-east-1", (instance,), (spot("sir-1", instance.id, created_days_ago=4000),))
    assert {s.action for s in plan_region(evidence, POLICY, WINDOW)} == {"cancel-spot-request", "terminate-instance"}


def test_members_of_an_old_legitimate_asg_are_left_alone():
    member = inst("i-0bbbbbbbbbbbbbbbb", type_="g5.xlarge")
    asg = Capacity(
        "asg", "ml-training", "us-east-1", "active", NOW - timedelta(days=200), ("g5.xlarge",), {}, (member.id,)
    )
    steps = plan_region(RegionEvidence("us-east-1", (member,), (asg,)), POLICY, WINDOW)
    assert all(s.status == "skipped" for s in steps)
    assert any("belongs to Auto Scaling group ml-training" in s.reason for s in steps)


def test_spot_fleet_owns_its_requests_and_instances():
    members = [inst(f"i-0{n}{'c' * 15}", type_="p3.2xlarge", region="eu-north-1") for n in range(2)]
    fleet = Capacity(
        "spot-fleet",
        "sfr-1",
        "eu-north-1",
        "active",
        None,
        ("p3.2xlarge",),
        {},
        tuple(m.id for m in members),
        ("sir-a", "sir-b"),
    )
    sirs = tuple(spot(s, m.id) for s, m in zip(("sir-a", "sir-b"), members, strict=True))
    steps = plan_region(RegionEvidence("eu-north-1", tuple(members), (fleet, *sirs)), POLICY, WINDOW)
    actions = [s.action for s in steps]
    assert actions == [
        "cancel-spot-fleet",
        "cancel-spot-request",
        "cancel-spot-request",
        "terminate-instance",
        "terminate-instance",
    ]


def test_known_termination_protection_is_turned_off_first():
    instance = inst("i-0f2f135de18b555e3", type_="p3.16xlarge", region="ap-south-1")
    evidence = RegionEvidence("ap-south-1", (instance,), termination_protected=frozenset({instance.id}))
    assert [s.action for s in plan_region(evidence, POLICY, WINDOW)] == [
        "disable-termination-protection",
        "terminate-instance",
    ]


def test_scope_limits_the_plan_to_one_launch():
    a, b = inst("i-0aaaaaaaaaaaaaaaa", region="ap-south-1"), inst("i-0bbbbbbbbbbbbbbbb", region="ap-south-1")
    suspects = {a.id: Suspect("launched outside ALLOWED_REGIONS", "launch-event", False)}
    evidence = RegionEvidence("ap-south-1", (a, b), suspects=suspects, scope=frozenset({a.id}))
    assert [s.target for s in plan_region(evidence, POLICY, None)] == [a.id]


def test_skipped_instances_are_those_looked_at_closely():
    looked = [
        inst("i-01111111111111111", type_="t3.micro"),
        inst("i-02222222222222222", type_="g4dn.xlarge", hours_ago=300),
        inst("i-03333333333333333", tags=PROTECT, hours_ago=300),
    ]
    ignored = inst("i-04444444444444444", hours_ago=300)
    steps = plan_region(RegionEvidence("us-east-1", (*looked, ignored)), POLICY, WINDOW)
    assert {s.target for s in steps} == {i.id for i in looked}
    assert all(s.status == "skipped" and s.reason for s in steps)


@pytest.mark.parametrize(
    ("owner", "statuses"),
    [
        (
            Principal("IAMUser", "ci-deployer", "arn:aws:iam::123456789012:user/ci-deployer", KEY),
            ["planned", "planned"],
        ),
        (Principal("IAMUser", "break-glass-admin", None, KEY), ["skipped", "skipped"]),
        (Principal("Root", "root", "arn:aws:iam::123456789012:root", KEY), ["skipped"]),
    ],
)
def test_key_containment_plan(owner, statuses):
    steps = plan_key_containment(KEY, owner, POLICY)
    assert [s.status for s in steps] == statuses
    assert steps[0].action == "deactivate-access-key"
