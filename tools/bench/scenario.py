"""The benchmark's incident: K regions x N rogue instances of every launcher kind, plus the team's capacity.

Every attacked region gets the same mix, launched two hours ago with the leaked key (so CloudTrail
``LookupEvents`` attributes it): persistent spot requests (40 %), one spot fleet (20 %), one Auto
Scaling group (20 %) and plain ``RunInstances`` instances (the rest; two of them termination-protected
in ap-south-1, as in the 2014 incident). The team runs legitimate instances and an Auto Scaling group in
its allowed regions; a few regions hold nothing at all (the "nothing to do" regions).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from compromise_responder.infra.config import DEFAULT_REGIONS
from compromise_responder.tools.emulator import EmulatedAws, Launched
from compromise_responder.tools.emulator.capacity import create_function, create_service
from compromise_responder.tools.emulator.chain import assume_role
from compromise_responder.tools.emulator.scenarios import LEAKED_KEY, TEAM_KEY, health_event
from compromise_responder.tools.emulator.trails import attacker_trail

REGIONS: tuple[str, ...] = DEFAULT_REGIONS  # the 17 regions enabled by default, as the stack forwards
CLEAN_REGIONS: tuple[str, ...] = ("ca-central-1", "eu-west-3", "ap-northeast-3")
ATTACKED_REGIONS: tuple[str, ...] = tuple(r for r in REGIONS if r not in CLEAN_REGIONS)
ALLOWED_REGIONS = "us-east-1,eu-west-1"
PROTECTED_REGION = "ap-south-1"
PROTECTED_PER_REGION = 2
ATTACKER_USER = "ci-deployer"
RECON_PER_REGION = 20  # recon calls (who am I, describes) the attacker made in each region it attacked
# the shapes of the swarm: EC2 only (the headline); with a role hop (issue 22: the key assumes a role and the
# role session launches half the attacked regions' capacity); the campaign (issue 23: plus an ECS service of
# Fargate tasks in every attacked region and Lambda functions)
Shape = Literal["swarm", "hop", "campaign"]
HOP_ROLE = "deploy-role"
SESSION_KEY = "ASIAIOSFODNN7EXAMPLE"
CAMPAIGN_TASKS = 10
CAMPAIGN_FUNCTIONS = 5
HOP_TRUST = (
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},'
    '"Action":"sts:AssumeRole"}]}'
)


@dataclass(frozen=True)
class Size:
    """How many rogue instances each attacked region holds (the clean regions always hold none)."""

    name: str
    per_region: tuple[int, ...]

    @classmethod
    def each(cls, n: int) -> Size:
        return cls(f"{len(REGIONS)} regions x {n}", tuple(n for _ in ATTACKED_REGIONS))

    @classmethod
    def total(cls, n: int) -> Size:
        base, extra = divmod(n, len(ATTACKED_REGIONS))
        counts = tuple(base + (1 if i < extra else 0) for i in range(len(ATTACKED_REGIONS)))
        return cls(f"{n:,} over {len(REGIONS)} regions", counts)

    @property
    def rogue(self) -> int:
        return sum(self.per_region)

    def in_region(self, region: str) -> int:
        return self.per_region[ATTACKED_REGIONS.index(region)] if region in ATTACKED_REGIONS else 0


@dataclass(frozen=True)
class Mix:
    """One region's rogue instances split by launcher kind."""

    spot: int
    fleet: int
    asg: int
    plain: int

    @classmethod
    def of(cls, n: int) -> Mix:
        spot, fleet, asg = round(0.4 * n), round(0.2 * n), round(0.2 * n)
        return cls(spot, fleet, asg, n - spot - fleet - asg)


@dataclass
class Scene:
    """What the scenario made: the ids the containment check needs."""

    size: Size
    notice_start: datetime
    attacker_instances: dict[str, list[str]] = field(default_factory=dict)
    attacker_requests: dict[str, list[str]] = field(default_factory=dict)
    attacker_asgs: dict[str, list[str]] = field(default_factory=dict)
    legit_instances: dict[str, list[str]] = field(default_factory=dict)
    legit_asgs: dict[str, tuple[str, int]] = field(default_factory=dict)
    services: list[tuple[str, str, str]] = field(default_factory=list)  # attacker ECS (region, cluster, service)
    functions: list[tuple[str, str]] = field(default_factory=list)  # attacker Lambda (region, name)
    hop: bool = False  # half the swarm launched by a role session the key assumed

    def health_event(self) -> dict[str, Any]:
        return health_event(self.notice_start, key=LEAKED_KEY)

    def add_rogue(self, launched: Launched, kind: str) -> None:
        self.attacker_instances.setdefault(launched.region, []).extend(launched.instance_ids)
        if kind == "spot":
            self.attacker_requests.setdefault(launched.region, []).extend(launched.ids)
        elif kind == "asg":
            self.attacker_asgs.setdefault(launched.region, []).extend(launched.ids)


def hop_regions(regions: tuple[str, ...] = ATTACKED_REGIONS) -> tuple[str, ...]:
    """The attacked regions whose capacity the role session launches: every other one, half the swarm."""
    return regions[1::2]


def function_regions(count: int = CAMPAIGN_FUNCTIONS, regions: tuple[str, ...] = ATTACKED_REGIONS) -> list[str]:
    """Where the campaign's Lambda functions run: spread over the attacked regions, one per region first."""
    return [regions[i % len(regions)] for i in range(count)] if regions else []


def build(aws: EmulatedAws, size: Size, now: datetime | None = None, shape: Shape = "swarm") -> Scene:
    """Create the team's capacity and the attacker's (with no injected latency: set-up is not measured)."""
    now = now or datetime.now(UTC)
    scene = Scene(size=size, notice_start=now - timedelta(hours=1))
    _team(aws, scene, now)
    attacker = aws.create_user(ATTACKER_USER, key_id=LEAKED_KEY, last_used=("ec2", "sa-east-1"))
    # before launching, the attacker looked around in every region it then used (what the activity reads)
    attacker_trail(aws, attacker.identity, calls=RECON_PER_REGION * len(ATTACKED_REGIONS), services=("sts", "ec2"),
                   regions=ATTACKED_REGIONS, start=now - timedelta(hours=3), end=now - timedelta(hours=2))  # fmt: skip
    launched_at = now - timedelta(hours=2)
    launchers = dict.fromkeys(ATTACKED_REGIONS, attacker)
    if shape == "hop":
        aws.client("iam").create_role(RoleName=HOP_ROLE, AssumeRolePolicyDocument=HOP_TRUST)
        session = assume_role(attacker, HOP_ROLE, "x", SESSION_KEY, at=launched_at - timedelta(minutes=5))
        launchers.update(dict.fromkeys(hop_regions(), session))
        scene.hop = True
    for region in ATTACKED_REGIONS:
        _rogue_region(launchers[region], scene, region, Mix.of(size.in_region(region)), launched_at)
    if shape == "campaign":
        for region in ATTACKED_REGIONS:
            service = create_service(attacker, region, "miner", CAMPAIGN_TASKS, cluster="work", at=launched_at)
            scene.services.append((region, service.cluster, service.name))
        for i, region in enumerate(function_regions()):
            scene.functions.append((region, create_function(attacker, region, f"miner-{i}", at=launched_at).name))
    return scene


def _team(aws: EmulatedAws, scene: Scene, now: datetime) -> None:
    team = aws.create_user("ml-team", key_id=TEAM_KEY)
    launches = [
        team.run_instances("us-east-1", "t3.micro", 2, tags={"Name": "web"}, at=now - timedelta(hours=5)),
        team.run_instances("us-east-1", "g4dn.xlarge", tags={"Name": "ml-old"}, at=now - timedelta(days=10)),
        team.run_instances(
            "us-east-1",
            "p3.2xlarge",
            tags={"compromise-responder:protect": "true", "Name": "ml-training"},
            at=now - timedelta(hours=3),
        ),
        team.run_instances("eu-west-1", "t3.large", tags={"Name": "api"}, at=now - timedelta(hours=30)),
    ]
    asg = team.create_auto_scaling_group("us-east-1", "team-web", "t3.micro", 2, at=now - timedelta(hours=30))
    scene.legit_asgs["team-web"] = ("us-east-1", 2)
    for launched in [*launches, asg]:
        scene.legit_instances.setdefault(launched.region, []).extend(launched.instance_ids)


def _rogue_region(attacker: Any, scene: Scene, region: str, mix: Mix, at: datetime) -> None:
    if mix.spot:
        scene.add_rogue(attacker.request_spot_instances(region, "g2.8xlarge", mix.spot, at=at), "spot")
    if mix.fleet:
        scene.add_rogue(attacker.request_spot_fleet(region, "g4dn.xlarge", mix.fleet, at=at), "fleet")
    if mix.asg:
        launched = attacker.create_auto_scaling_group(region, f"gpu-burst-{region}", "g4dn.12xlarge", mix.asg, at=at)
        scene.add_rogue(launched, "asg")
    protected = min(PROTECTED_PER_REGION, mix.plain) if region == PROTECTED_REGION else 0
    if protected:
        launched = attacker.run_instances(region, "p3.16xlarge", protected, termination_protection=True, at=at)
        scene.add_rogue(launched, "plain")
    if mix.plain - protected:
        scene.add_rogue(attacker.run_instances(region, "p3.2xlarge", mix.plain - protected, at=at), "plain")


def verify(
    aws: EmulatedAws, scene: Scene, regions: tuple[str, ...] = REGIONS, report: dict[str, Any] | None = None
) -> dict[str, bool]:
    """AWS state after a response in the swept ``regions``: the attacker's capacity gone, the team's untouched;
    and, given the response's ``report``, its activity summary complete and counting every call of the key."""
    states: dict[str, str] = {}
    for region in regions:
        states.update(aws.instance_states(region))
    attacker = [i for r in regions for i in scene.attacker_instances.get(r, [])]
    legit = [i for r in regions for i in scene.legit_instances.get(r, [])]
    open_requests = [
        sir for r in regions for sir in set(scene.attacker_requests.get(r, [])) & set(aws.spot_request_states(r))
    ]
    checks = {
        "key inactive": aws.key_status(ATTACKER_USER) == {LEAKED_KEY: "Inactive"},
        "attacker instances terminated": all(states.get(i) in ("shutting-down", "terminated") for i in attacker),
        "attacker spot requests gone": not open_requests,
        "attacker ASGs at zero": all(
            _asg_capacity(aws, r, name) == 0 for r in regions for name in scene.attacker_asgs.get(r, [])
        ),
        "team instances running": all(states.get(i) == "running" for i in legit),
        "team ASG untouched": all(
            _asg_capacity(aws, r, name) == size for name, (r, size) in scene.legit_asgs.items() if r in regions
        ),
    }
    if scene.services:
        checks["attacker ECS services at zero"] = all(
            _service_desired(aws, r, c, name) == 0 for r, c, name in scene.services if r in regions
        )
    if scene.functions:
        checks["attacker functions throttled"] = all(
            _concurrency(aws, r, name) == 0 for r, name in scene.functions if r in regions
        )
    if report is not None:
        keys = {LEAKED_KEY, SESSION_KEY} if scene.hop else {LEAKED_KEY}
        made = [r for r in aws.trail.records if r["userIdentity"]["accessKeyId"] in keys and r["awsRegion"] in regions]
        activity = report.get("activity") or {}
        checks["activity: every call of the key counted"] = bool(activity.get("complete")) and activity.get(
            "calls"
        ) == len(made)
    return checks


def _service_desired(aws: EmulatedAws, region: str, cluster: str, service: str) -> int:
    described = aws.client("ecs", region).describe_services(cluster=cluster, services=[service])["services"]
    return int(described[0]["desiredCount"])


def _concurrency(aws: EmulatedAws, region: str, function: str) -> int | None:
    got = aws.client("lambda", region).get_function_concurrency(FunctionName=function)
    value = got.get("ReservedConcurrentExecutions")
    return None if value is None else int(value)


def _asg_capacity(aws: EmulatedAws, region: str, name: str) -> int:
    groups = aws.client("autoscaling", region).describe_auto_scaling_groups(AutoScalingGroupNames=[name])
    return int(groups["AutoScalingGroups"][0]["DesiredCapacity"])
