"""A small IAM policy evaluator, so tests prove what a synthesized role may and may not do by evaluating its
policies the way AWS does rather than by matching strings in the template.

It follows AWS's policy evaluation logic for identity-based policies and a permissions boundary within one
account: an explicit deny in any of them wins; otherwise a request is allowed only when an identity statement
allows it and the boundary, if there is one, allows it too. Resource-based policies, SCPs/RCPs and session
policies are out of scope and never consulted. Policies are taken as Version 2012-10-17 (policy variables are
always expanded). Condition operators not implemented here (IpAddress, Binary, ...) raise ValueError rather than
being guessed at.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal, TypeAlias

Decision: TypeAlias = Literal["allow", "explicit-deny", "implicit-deny"]
Context: TypeAlias = Mapping[str, str | bool | Sequence[str]]
_Request: TypeAlias = Mapping[str, list[str]]  # normalised key -> its values; absent keys are missing
_Test: TypeAlias = Callable[[str, str, _Request], bool]  # (request value, policy value, request) -> match

_TOKEN = re.compile(r"\$\{([^}]*)\}|[*?]|[^$*?]+|\$")
_VARIABLE = re.compile(r"\s*([^,\s]+)\s*(?:,\s*'((?:[^']|'')*)'\s*)?")
_SUB = re.compile(r"\$\{([^}]*)\}")


class _Unresolved(Exception):
    """A policy variable with no value in the request: the statement then does not match."""


def _values(element: Any) -> list[Any]:
    """IAM accepts a single value wherever it accepts a list."""
    return list(element) if isinstance(element, list) else [element]


def _text(value: Any) -> str:
    """A value as IAM compares it, JSON booleans included ("true"/"false")."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _key(name: str) -> str:
    """Condition key names are case-insensitive, but the tag key in ``aws:ResourceTag/Owner`` keeps its case."""
    prefix, slash, rest = name.partition("/")
    return prefix.lower() + slash + rest


def _variable(spec: str, request: _Request) -> str:
    """The value of ``${key}`` or ``${key, 'default'}``; ``${*}``, ``${?}`` and ``${$}`` stand for the character."""
    if spec in ("*", "?", "$"):
        return spec
    parsed = _VARIABLE.fullmatch(spec)
    if parsed is None:
        raise ValueError(f"malformed policy variable ${{{spec}}}")
    values = request.get(_key(parsed[1]), [])
    if len(values) == 1:  # a multivalued key cannot be used as a variable
        return values[0]
    if parsed[2] is not None:
        return parsed[2].replace("''", "'")
    raise _Unresolved(spec)


def _compile(
    pattern: str, request: _Request | None, *, wildcards: bool = True, arn: bool = False, fold: bool = False
) -> re.Pattern[str]:
    """A policy value as a regex: ``*``/``?`` wildcards (within one of an ARN's first five colon-separated fields
    for the ARN operators, anywhere otherwise) and policy variables unless ``request`` is None (Action)."""
    parts: list[str] = []
    colons = 0
    for token in _TOKEN.finditer(pattern):
        if token[1] is not None and request is not None:
            parts.append(re.escape(_variable(token[1], request)))
        elif token[0] in ("*", "?") and wildcards:
            parts.append(("[^:]" if arn and colons < 5 else ".") + ("*" if token[0] == "*" else ""))
        else:
            colons += token[0].count(":")
            parts.append(re.escape(token[0]))
    return re.compile("".join(parts), re.DOTALL | (re.IGNORECASE if fold else 0))


def _pattern(**flags: bool) -> _Test:
    return lambda value, policy, request: _compile(policy, request, **flags).fullmatch(value) is not None


def _instant(text: str) -> datetime:
    """ISO 8601 (a time without zone is UTC) or epoch seconds, the two forms IAM accepts."""
    if text.isdigit():
        return datetime.fromtimestamp(int(text), UTC)
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _ordered(parse: Callable[[str], Any], compare: Callable[[Any, Any], bool]) -> _Test:
    return lambda value, policy, _: compare(parse(value), parse(policy))


# base operator -> (test of one request value against one policy value, negated?)
_OPERATORS: dict[str, tuple[_Test, bool]] = {
    "StringEquals": (_pattern(wildcards=False), False),
    "StringNotEquals": (_pattern(wildcards=False), True),
    "StringEqualsIgnoreCase": (_pattern(wildcards=False, fold=True), False),
    "StringNotEqualsIgnoreCase": (_pattern(wildcards=False, fold=True), True),
    "StringLike": (_pattern(), False),
    "StringNotLike": (_pattern(), True),
    "ArnEquals": (_pattern(arn=True), False),  # AWS documents ArnEquals and ArnLike alike: wildcards per field
    "ArnLike": (_pattern(arn=True), False),
    "ArnNotEquals": (_pattern(arn=True), True),
    "ArnNotLike": (_pattern(arn=True), True),
    "Bool": (lambda value, policy, _: value.lower() == policy.lower(), False),
}
# Numeric* and Date* share the same six comparisons
_ORDERS = {"Equals": operator.eq, "NotEquals": operator.eq, "LessThan": operator.lt, "LessThanEquals": operator.le}
_ORDERS |= {"GreaterThan": operator.gt, "GreaterThanEquals": operator.ge}
_OPERATORS |= {
    kind + order: (_ordered(parse, compare), order == "NotEquals")
    for kind, parse in (("Numeric", float), ("Date", _instant))
    for order, compare in _ORDERS.items()
}


def _condition(name: str, key: str, expected: list[str], request: _Request) -> bool:
    """One operator/key pair; several policy values are OR-ed (a negated operator: the value matches none)."""
    qualifier, _, base = name.rpartition(":")
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    values = request.get(_key(key))
    if qualifier not in ("", "ForAllValues", "ForAnyValue") or (base not in _OPERATORS and base != "Null"):
        raise ValueError(f"unsupported condition operator {name!r}")
    if base == "Null":
        if qualifier or if_exists:
            raise ValueError(f"unsupported condition operator {name!r}")
        return any((values is None) == (e.lower() == "true") for e in expected)
    test, negated = _OPERATORS[base]
    if values is None:
        # AWS: "If the policy condition requires that the key is not matched, such as StringNotLike or ArnNotLike,
        # and the right key is not present, the condition is true." ForAllValues holds vacuously, ForAnyValue
        # does not. https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
        # and .../reference_policies_condition-single-vs-multi-valued-context-keys.html
        return if_exists or qualifier == "ForAllValues" or (negated and not qualifier)
    hits = [any(test(value, e, request) for e in expected) != negated for value in values]
    return all(hits) if qualifier == "ForAllValues" else any(hits)  # a plain operator on a list: ForAnyValue


def _covers(statement: Mapping[str, Any], element: str, match: Callable[[str], bool]) -> bool:
    """Whether Action/NotAction (or Resource/NotResource) covers the request. Every pattern is tried, so an
    unresolvable policy variable makes the statement not match whatever the order."""
    for name, inverted in ((element, False), (f"Not{element}", True)):
        if name in statement:
            return any([match(_text(p)) for p in _values(statement[name])]) != inverted
    raise ValueError(f"statement has neither {element} nor Not{element}: {statement}")


def _matches(statement: Mapping[str, Any], action: str, resource: str, request: _Request) -> bool:
    if statement.get("Effect") not in ("Allow", "Deny"):
        raise ValueError(f"statement Effect must be Allow or Deny: {statement}")
    try:
        covered = _covers(statement, "Action", lambda p: _compile(p, None, fold=True).fullmatch(action) is not None)
        covered &= _covers(statement, "Resource", lambda p: _compile(p, request).fullmatch(resource) is not None)
        # evaluated in full, so an unsupported operator raises even when another condition is false
        met = [
            _condition(name, key, [_text(v) for v in _values(expected)], request)
            for name, keys in statement.get("Condition", {}).items()
            for key, expected in keys.items()
        ]
    except _Unresolved:
        return False
    return covered and all(met)


def evaluate(
    action: str,
    resource: str,
    policies: Sequence[Mapping[str, Any]],
    *,
    boundary: Sequence[Mapping[str, Any]] | None = None,
    context: Context | None = None,
) -> Decision:
    """Identity policies (+ optional permissions boundary) for one request: explicit deny in any policy wins;
    allowed only if some identity statement allows AND (no boundary, or the boundary allows). An empty
    ``boundary`` means no boundary, as ``statements_of`` reports a role without one."""
    request: dict[str, list[str]] = {}
    for name, value in (context or {}).items():
        values = [_text(value)] if isinstance(value, str | bool) else [_text(v) for v in value]
        if values:  # a multivalued key with no values is as good as absent
            request[_key(name)] = values

    def effects(documents: Sequence[Mapping[str, Any]]) -> set[str]:
        return {
            s["Effect"] for d in documents for s in _values(d["Statement"]) if _matches(s, action, resource, request)
        }

    identity, bounds = effects(policies), effects(boundary or [])
    if "Deny" in identity | bounds:
        return "explicit-deny"
    if "Allow" in identity and (not boundary or "Allow" in bounds):
        return "allow"
    return "implicit-deny"


def allows(
    action: str,
    resource: str,
    policies: Sequence[Mapping[str, Any]],
    *,
    boundary: Sequence[Mapping[str, Any]] | None = None,
    context: Context | None = None,
) -> bool:
    """Whether the request is allowed (see ``evaluate``)."""
    return evaluate(action, resource, policies, boundary=boundary, context=context) == "allow"


def _lookup(name: str, refs: Mapping[str, str]) -> str:
    if name not in refs:
        raise KeyError(f"no value given in refs for {name!r}")
    return refs[name]


def resolve(node: Any, refs: Mapping[str, str]) -> Any:
    """Replace CloudFormation intrinsics in a template fragment by strings: {"Ref": X} -> refs[X]
    (pseudo parameters like AWS::Partition/AWS::AccountId/AWS::Region/AWS::URLSuffix must be given in refs too),
    {"Fn::GetAtt": ["Logical", "Arn"]} or "Logical.Arn" -> refs["Logical.Arn"], {"Fn::Join": [sep, [...]]},
    {"Fn::Sub": "str ${X} ${Logical.Arn} ${!Literal}"} and {"Fn::Sub": [str, {vars}]}, {"Fn::Select": [i, list]},
    {"Fn::Split": [sep, str]}; recursively in dicts/lists. An unknown Ref/GetAtt raises KeyError naming it; any
    other intrinsic raises ValueError, so nothing unresolved reaches the evaluator."""
    if isinstance(node, list):
        return [resolve(item, refs) for item in node]
    if not isinstance(node, Mapping):
        return node
    if len(node) == 1:
        [(name, arg)] = node.items()
        if name == "Ref":
            return _lookup(arg, refs)
        if name == "Fn::GetAtt":
            return _lookup(arg if isinstance(arg, str) else ".".join(arg), refs)
        if name == "Fn::Join":
            return str(resolve(arg[0], refs)).join(resolve(arg[1], refs))
        if name == "Fn::Sub":
            text, given = (arg, {}) if isinstance(arg, str) else arg
            values = {**refs, **{key: resolve(value, refs) for key, value in given.items()}}
            return _SUB.sub(lambda m: "${" + m[1][1:] + "}" if m[1][:1] == "!" else _lookup(m[1], values), text)
        if name == "Fn::Select":
            return resolve(arg[1], refs)[int(resolve(arg[0], refs))]
        if name == "Fn::Split":
            return str(resolve(arg[1], refs)).split(resolve(arg[0], refs))
        if name.startswith("Fn::"):
            raise ValueError(f"unsupported intrinsic {name}")
    return {key: resolve(value, refs) for key, value in node.items()}


def statements_of(
    template: Mapping[str, Any], role_logical_id: str, refs: Mapping[str, str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(identity policy documents, boundary documents) that apply to one AWS::IAM::Role of a synthesized
    template, resolved: the role's inline `Policies`, every AWS::IAM::Policy (or AWS::IAM::RolePolicy) that
    names the role by {"Ref": role_logical_id}, every AWS::IAM::ManagedPolicy in the template whose `Roles`
    includes it or that the role's `ManagedPolicyArns` references by {"Ref": logicalId}, and the role's
    `PermissionsBoundary` when it is a {"Ref"} to an AWS::IAM::ManagedPolicy in the template (boundary list
    empty when none).

    Policies outside the template - AWS-managed ARNs such as AWSLambdaBasicExecutionRole, or any other
    ManagedPolicyArns entry that is not a Ref to a template ManagedPolicy - are ignored and reported nowhere, so
    the result can understate what the role may do. A boundary outside the template raises ValueError instead:
    dropping it would overstate what the role may do."""
    resources: Mapping[str, Any] = template["Resources"]
    role = resources[role_logical_id]
    if role.get("Type") != "AWS::IAM::Role":
        raise ValueError(f"{role_logical_id} is a {role.get('Type')}, not an AWS::IAM::Role")
    props = role.get("Properties", {})
    me = {"Ref": role_logical_id}
    attached = {a["Ref"] for a in props.get("ManagedPolicyArns", []) if isinstance(a, Mapping) and "Ref" in a}
    documents = [p["PolicyDocument"] for p in props.get("Policies", [])]
    for logical_id, resource in resources.items():
        kind, other = resource.get("Type"), resource.get("Properties", {})
        if (
            (kind == "AWS::IAM::Policy" and me in other.get("Roles", []))
            or (kind == "AWS::IAM::RolePolicy" and other.get("RoleName") == me)
            or (kind == "AWS::IAM::ManagedPolicy" and (me in other.get("Roles", []) or logical_id in attached))
        ):
            documents.append(other["PolicyDocument"])
    boundary = []
    if (limit := props.get("PermissionsBoundary")) is not None:
        target = resources.get(limit["Ref"], {}) if isinstance(limit, Mapping) and "Ref" in limit else {}
        if target.get("Type") != "AWS::IAM::ManagedPolicy":
            raise ValueError(f"permissions boundary of {role_logical_id} is not a ManagedPolicy in the template")
        boundary.append(target["Properties"]["PolicyDocument"])
    return [resolve(d, refs) for d in documents], [resolve(d, refs) for d in boundary]
