"""The credential chain: what the compromised key became (contract: "The credential chain").

An attacker holding access key C mints other credentials (role sessions, federation and session tokens, access
keys of other users); deactivating C leaves them working. The chain of C is C and, recursively (depth <= 3),
every credential a credential of the chain obtained inside the window, read from CloudTrail ``LookupEvents`` by
``AccessKeyId`` in every enabled region (STS records a call in the region of the endpoint used) and from the
launch ledger (keys created, launches).

``link_of`` and ``plan_cuts`` are pure; ``read_chain`` is the thin reader (paced to LookupEvents' 2 requests a
second per region, within the activity budget, a read that never fails the response).
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..aws import Clients, describe_error
from ..core import capabilities as cap
from ..core.arns import role_of_session
from ..core.model import GLOBAL, Step, Suspect, Window
from ..core.timeutil import iso, parse_time, utcnow
from ..decide.rogue import RoguePolicy
from ..parse.cloudtrail_records import CallRecord, read_record
from ..parse.events import ACCESS_KEY_ID
from .activity import Pacer

CHAIN_READ = cap.declare(
    "read", "credential-chain", ("cloudtrail:LookupEvents",), doc="what the key became: LookupEvents by AccessKeyId"
)
MAX_DEPTH = 3
DERIVING = {
    "AssumeRole": "role-session",
    "AssumeRoleWithWebIdentity": "role-session",
    "AssumeRoleWithSAML": "role-session",
    "GetFederationToken": "federation",
    "GetSessionToken": "session-token",
    "CreateAccessKey": "access-key",
}
LOOKUP_PAGE = 50


@dataclass(frozen=True)
class Link:
    """One credential of the chain (C itself is never a link)."""

    credential: str  # the derived access key id (ASIA... / AKIA...), or the role session id when none is known
    kind: str  # role-session | federation | session-token | access-key
    principal: str  # ARN of what the credential acts as
    parent: str  # the access key id that obtained it
    via: str  # the CloudTrail event name
    at: datetime | None
    region: str
    event_id: str
    depth: int
    session_id: str | None = None  # AROA...:session (role sessions)
    role_name: str | None = None
    user_name: str | None = None  # the key's owner (access-key) or the calling user (federation/session-token)

    @property
    def key(self) -> str | None:
        """The access key id its calls are recorded under (what LookupEvents and the ledger are asked about)."""
        return self.credential if ACCESS_KEY_ID.match(self.credential) else None

    def to_json(self, status: str) -> dict[str, Any]:
        out = {
            "credential": self.credential,
            "kind": self.kind,
            "principal": self.principal,
            "parent": self.parent,
            "via": self.via,
            "at": iso(self.at),
            "status": status,
        }
        if self.session_id and self.session_id != self.credential:
            out["session"] = self.session_id
        return out


def _obj(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def link_of(detail: Mapping[str, Any], parent: str, depth: int, account: str | None, partition: str) -> Link | None:
    """The credential a CloudTrail record shows ``parent`` obtaining, or None (a failed call, another call). Pure."""
    via = str(detail.get("eventName") or "")
    kind = DERIVING.get(via)
    if kind is None or detail.get("errorCode"):
        return None
    identity = _obj(detail.get("userIdentity"))
    if identity.get("accessKeyId") != parent:
        return None
    request, response = _obj(detail.get("requestParameters")), _obj(detail.get("responseElements"))
    common: dict[str, Any] = {
        "kind": kind,
        "parent": parent,
        "via": via,
        "at": _time(detail.get("eventTime")),
        "region": str(detail.get("awsRegion") or ""),
        "event_id": str(detail.get("eventID") or ""),
        "depth": depth,
    }
    key = str(_obj(response.get("credentials")).get("accessKeyId") or "")
    if kind == "role-session":
        assumed = _obj(response.get("assumedRoleUser"))
        session_arn = str(assumed.get("arn") or "")
        session_id = str(assumed.get("assumedRoleId") or "") or None
        role = role_of_session(session_arn) or str(request.get("roleArn") or "").rsplit("/", 1)[-1] or None
        credential = key or session_id
        if not credential or not role:
            return None
        return Link(
            credential,
            principal=session_arn or str(request.get("roleArn")),
            session_id=session_id,
            role_name=role,
            **common,
        )
    caller = _caller_user(identity)
    if kind in ("federation", "session-token"):
        if not key:
            return None
        federated = str(_obj(response.get("federatedUser")).get("arn") or "")
        principal = federated or str(identity.get("arn") or "")
        return Link(key, principal=principal, user_name=caller, **common)
    access_key = _obj(response.get("accessKey"))
    created = str(access_key.get("accessKeyId") or "")
    owner = str(access_key.get("userName") or request.get("userName") or caller or "")
    if not ACCESS_KEY_ID.match(created) or not owner:
        return None
    arn = f"arn:{partition}:iam::{account}:user/{owner}" if account else owner
    return Link(created, principal=arn, user_name=owner, **common)


def _caller_user(identity: Mapping[str, Any]) -> str | None:
    if identity.get("type") == "IAMUser":
        return str(identity.get("userName") or "") or None
    issuer = _obj(_obj(identity.get("sessionContext")).get("sessionIssuer"))
    return str(issuer.get("userName") or "") or None if issuer.get("type") == "IAMUser" else None


def _time(value: Any) -> datetime | None:
    try:
        return parse_time(value)
    except (ValueError, TypeError):
        return None


# --- reading -----------------------------------------------------------------------------------------------
@dataclass
class Chain:
    """What the reading found: the links, every record of each credential of the chain, what was not read."""

    root: str
    links: list[Link] = field(default_factory=list)
    by_region: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)  # key -> region -> records
    ledger_calls: dict[str, list[CallRecord]] = field(default_factory=dict)  # access key id -> ledger records
    unread: dict[str, str] = field(default_factory=dict)  # "key region" -> why
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def snapshot(self) -> Chain:
        """What has been read so far, copied while the reading goes on (the region sweep's bounded wait)."""
        with self.lock:
            return Chain(
                self.root,
                list(self.links),
                {k: dict(v) for k, v in self.by_region.items()},
                {k: list(v) for k, v in self.ledger_calls.items()},
                dict(self.unread),
            )

    @property
    def records(self) -> dict[str, list[dict[str, Any]]]:
        """Access key id -> its CloudTrail records, region after region."""
        return {key: [d for found in read.values() for d in found] for key, read in self.by_region.items()}

    @property
    def keys(self) -> list[str]:
        """C, then every derived credential with an access key id."""
        return [self.root, *(k for k in (link.key for link in self.links) if k)]

    def link(self, credential: str) -> Link | None:
        return next((x for x in self.links if x.credential == credential or x.session_id == credential), None)

    def calls_in(self, key: str, region: str, event_names: frozenset[str]) -> list[CallRecord] | None:
        """The calls named ``event_names`` that ``key`` made in ``region``, as read; None when that region was not
        read for it (the region sweep then asks CloudTrail itself)."""
        records = self.by_region.get(key, {}).get(region)
        if records is None:
            return None
        return [read_record(d, strict=False) for d in records if d.get("eventName") in event_names]

    def calls(self, *, derived_only: bool = False) -> list[CallRecord]:
        """Every call of the chain as the reader sees it (CloudTrail records read leniently)."""
        keys = set(self.keys[1:] if derived_only else self.keys)
        return [read_record(d, strict=False) for k, records in self.records.items() if k in keys for d in records]


def _lookup_all(clients: Clients, region: str, key: str, window: Window, pacer: Pacer, deadline: float) -> list[Any]:
    trail = clients.get("cloudtrail", region)
    request: dict[str, Any] = {
        "LookupAttributes": [{"AttributeKey": "AccessKeyId", "AttributeValue": key}],
        "StartTime": window.start,
        "EndTime": window.end,
        "MaxResults": LOOKUP_PAGE,
    }
    events: list[Any] = []
    while True:
        if not pacer.wait(deadline):
            raise TimeoutError("activity budget reached: older calls not read")
        page = trail.lookup_events(**request)
        events.extend(page.get("Events", []))
        if not page.get("NextToken"):
            return events
        request["NextToken"] = page["NextToken"]


def read_chain(
    clients: Clients,
    regions: Sequence[str],
    root: str,
    window: Window,
    *,
    account: str | None,
    partition: str,
    budget_seconds: float,
    max_workers: int,
    ledger: Any = None,
    log: Callable[..., Any] | None = None,
    into: Chain | None = None,
) -> Chain:
    """C, then each derived key, level by level (depth <= 3), in every region at once (one reader per region).
    ``into``: the Chain to fill, whose ``snapshot`` another thread may take meanwhile (each region's reading is
    added as it ends)."""
    chain = into if into is not None else Chain(root)
    window = Window(window.start, max(window.end, utcnow()))
    deadline = time.monotonic() + budget_seconds
    pacers = {region: Pacer() for region in regions}
    seen = {root}
    level = [root]
    with ThreadPoolExecutor(  # one more than the regions: the ledger is read beside them
        max_workers=max(1, min(len(regions) or 1, max_workers)) + 1, thread_name_prefix="chain"
    ) as pool:
        for depth in range(1, MAX_DEPTH + 2):  # the last level is read (what it did), not followed further
            if not level:
                break
            ledger_reads = {key: pool.submit(ledger.calls_by_key, key, None) for key in level} if ledger else {}

            def read_region(region: str, keys: list[str] = level) -> dict[str, list[dict[str, Any]]]:
                found: dict[str, list[dict[str, Any]]] = {}
                for key in keys:
                    try:
                        events = _lookup_all(clients, region, key, window, pacers[region], deadline)
                    except Exception as exc:  # noqa: BLE001 - a read: reported as unread, never raised
                        with chain.lock:
                            chain.unread[f"{key} {region}"] = describe_error(exc)
                        continue
                    found[key] = [d for d in (_detail(e) for e in events) if d]
                return found

            next_level: list[str] = []
            reads = {pool.submit(read_region, region): region for region in regions}
            for done in as_completed(reads):  # each region's reading is there as soon as it ends
                with chain.lock:
                    for key, records in done.result().items():
                        chain.by_region.setdefault(key, {})[reads[done]] = records
            with chain.lock:  # in region order again: what follows reads them in a stable order
                for key in level:
                    read = chain.by_region.get(key, {})
                    chain.by_region[key] = {region: read[region] for region in regions if region in read}
            for key in level:
                links = _ledger_links(chain, ledger_reads[key], key, depth, account, partition) if ledger else []
                if depth > MAX_DEPTH:
                    continue  # the ledger was read for its launches (attribution), not followed further
                records = sorted(
                    (d for found in chain.by_region.get(key, {}).values() for d in found),
                    key=lambda d: str(d.get("eventTime") or ""),
                )
                candidates = [link_of(d, key, depth, account, partition) for d in records] + links
                for link in candidates:
                    if link is None or link.credential in seen or link.credential == root:
                        continue
                    seen.add(link.credential)
                    with chain.lock:
                        chain.links.append(link)
                    if link.key:
                        next_level.append(link.key)
            level = next_level
    if log:
        log("chain read", links=len(chain.links), unread=sorted(chain.unread))
    return chain


def _ledger_links(
    chain: Chain, read: Future[Any], key: str, depth: int, account: str | None, partition: str
) -> list[Link | None]:
    """Keys the launch watcher saw ``key`` create (and the ledger's launches by it, kept for attribution)."""
    try:
        calls = read.result()
    except Exception as exc:  # noqa: BLE001 - CloudTrail is read too
        with chain.lock:
            chain.unread[f"{key} ledger"] = describe_error(exc)
        return []
    with chain.lock:
        chain.ledger_calls[key] = list(calls)
    out: list[Link | None] = []
    for call in calls:
        if call.event_name in DERIVING and call.event_name != "CreateAccessKey" and not call.error_code:
            out += [minted_link(call, key, created, depth) for kind, created in call.resources if kind == "credential"]
        if call.event_name != "CreateAccessKey" or call.error_code:
            continue
        for kind, created in call.resources:
            owner = call.details.get("userName") or call.principal_name or ""
            if kind != "access-key" or not owner:
                continue
            arn = f"arn:{partition}:iam::{account}:user/{owner}" if account else owner
            out.append(
                Link(
                    created,
                    "access-key",
                    arn,
                    key,
                    "CreateAccessKey",
                    call.time,
                    call.region,
                    call.event_id,
                    depth,
                    user_name=owner,
                )
            )
    return out


def minted_link(call: CallRecord, parent: str, key: str, depth: int) -> Link:
    """An STS call the launch watcher recorded (``cloudtrail_records._minted``) as a link."""
    d = call.details
    return Link(key, DERIVING[call.event_name], d.get("principal") or call.principal_arn or "", parent,
                call.event_name, call.time, call.region, call.event_id, depth,
                session_id=d.get("assumedRoleId") or None, role_name=d.get("roleName") or None,
                user_name=d.get("userName") or None)  # fmt: skip


def _detail(event: Mapping[str, Any]) -> dict[str, Any] | None:
    try:
        detail = json.loads(event.get("CloudTrailEvent") or "{}")
    except ValueError:
        return None
    return detail if isinstance(detail, dict) and detail.get("eventName") else None


# --- the decision (pure) -----------------------------------------------------------------------------------
def cut_of(link: Link) -> str:
    """The action that cuts a link (what its ``status`` in the report follows)."""
    if link.kind == "role-session":
        return "revoke-session" if link.session_id else "revoke-role-sessions"
    if link.kind == "access-key":
        return "deactivate-access-key"
    return "quarantine-user"


def cut_target(link: Link) -> str:
    if link.kind == "role-session":
        return str(link.role_name)
    if link.kind == "access-key":
        return link.credential
    return str(link.user_name)


def is_protected(link: Link, policy: RoguePolicy) -> bool:
    return policy.is_protected_principal(link.role_name, link.user_name, link.principal)


def plan_cuts(
    chain: Chain, policy: RoguePolicy, contained_user: str | None, now: datetime, *, skip_keys: Iterable[str] = ()
) -> list[Step]:
    """One step per role (every session of it the chain obtained), per user, per key. Pure.

    A protected principal's credential is listed (skipped), never touched. Keys in ``skip_keys`` are left to the
    persistence sweep (keys C created itself); the contained user is already quarantined by the key containment.
    """
    steps: list[Step] = []
    skip = set(skip_keys)
    sessions: dict[str, list[Link]] = defaultdict(list)
    unknown_sessions: dict[str, list[Link]] = defaultdict(list)
    users: dict[str, list[Link]] = defaultdict(list)
    for link in chain.links:
        if link.kind == "access-key" and link.credential in skip:
            continue
        if is_protected(link, policy):
            steps.append(
                Step(
                    cut_of(link),
                    cut_target(link),
                    GLOBAL,
                    f"{link.kind} {link.credential} of protected principal {link.principal}, obtained by {link.parent} "
                    f"({link.via} at {iso(link.at)}): not touched, a human decides",
                    status="skipped",
                    source="chain",
                )
            )
        elif link.kind == "role-session":
            (sessions if link.session_id else unknown_sessions)[str(link.role_name)].append(link)
        elif link.kind == "access-key":
            steps.append(
                Step(
                    "deactivate-access-key",
                    link.credential,
                    GLOBAL,
                    f"access key of {link.user_name} created by {link.parent} of the chain ({link.via} at "
                    f"{iso(link.at)}): deactivate (never delete)",
                    params={"userName": str(link.user_name)},
                    source="chain",
                )
            )
        elif link.user_name and link.user_name != contained_user:
            users[link.user_name].append(link)
    for role, links in sorted(sessions.items()):
        ids = sorted({str(x.session_id) for x in links})
        steps.append(
            Step(
                "revoke-session",
                role,
                GLOBAL,
                f"role session(s) {', '.join(ids)} obtained by {_by(links)}: deny-all for these sessions only "
                "(aws:userid); the role's other sessions keep working",
                params={"sessionIds": ",".join(ids)},
                source="chain",
            )
        )
    for role, links in sorted(unknown_sessions.items()):
        if role in sessions:
            continue
        steps.append(
            Step(
                "revoke-role-sessions",
                role,
                GLOBAL,
                f"a session of role {role} obtained by {_by(links)} (session id unknown): every session issued "
                "before now denied (aws:TokenIssueTime)",
                params={"issuedBefore": iso(now) or ""},
                source="chain",
            )
        )
    for user, links in sorted(users.items()):
        steps.append(
            Step(
                "quarantine-user",
                user,
                GLOBAL,
                f"temporary credential(s) {', '.join(x.credential for x in links)} of {user} obtained by "
                f"{_by(links)}: deny-all quarantine of the user (the credential cannot outlive its user's "
                "permissions)",
                source="chain",
            )
        )
    return steps


def _by(links: Sequence[Link]) -> str:
    return ", ".join(f"{x.parent} ({x.via} at {iso(x.at)})" for x in links)


def _derived_launches(chain: Chain) -> Iterator[tuple[Any, str, Any]]:
    """(call, source, link) of every launch call by a derived credential of the chain."""
    derived = {x.key: x for x in chain.links if x.key}
    calls = [(c, "cloudtrail") for c in chain.calls(derived_only=True)]
    calls += [(c, "ledger") for key, found in chain.ledger_calls.items() if key in derived for c in found]
    for call, source in calls:
        link = derived.get(call.access_key_id or "")
        if link is not None and call.kind == "launch":
            yield call, source, link


def chain_suspects(chain: Chain) -> dict[str, dict[str, Suspect]]:
    """region -> resource id -> Suspect: what any derived credential launched is attributed to C (rule 1)."""
    out: dict[str, dict[str, Suspect]] = defaultdict(dict)
    for call, source, link in _derived_launches(chain):
        for rid in call.resource_ids:
            out[call.region].setdefault(
                rid,
                Suspect(
                    f"launched by {link.credential} ({link.kind} obtained by {link.parent} via {link.via}; chain of "
                    f"{chain.root}) ({call.event_name} at {iso(call.time)}, source: {source})",
                    source,
                    compromised=True,
                ),
            )
    return dict(out)


def chain_launch_calls(chain: Chain) -> dict[str, frozenset[str]]:
    """region -> the launch calls (event names) the derived credentials made there: which kinds to read."""
    out: dict[str, set[str]] = defaultdict(set)
    for call, _source, _link in _derived_launches(chain):
        out[call.region].add(call.event_name)
    return {region: frozenset(names) for region, names in out.items()}


def chain_report(chain: Chain, outcomes: Iterable[Any], dry_run: bool) -> list[dict[str, Any]]:
    """The report's ``chain``: each link with the status of the step that cut it."""
    status = {(o.step.action, o.step.target): o.status for o in outcomes}
    out = []
    for link in chain.links:
        found = status.get((cut_of(link), cut_target(link)))
        out.append(link.to_json(found or ("planned" if dry_run else "skipped")))
    return out
