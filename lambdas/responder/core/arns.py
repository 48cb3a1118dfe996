"""ARNs, partition-aware: build them for the account acted on, read principals out of them.

One place for ARN text, so ``arn:aws:`` is never hard-coded (GovCloud and China partitions differ).
"""

from __future__ import annotations


def iam_arn(partition: str, account: str | None, kind: str, name: str) -> str | None:
    """``arn:PARTITION:iam::ACCOUNT:KIND/NAME`` (KIND user or role), or None when the account is unknown."""
    return f"arn:{partition}:iam::{account}:{kind}/{name}" if account else None


def account_of(arn: str) -> str | None:
    """The account field of an ARN (``arn:aws:lambda:us-east-1:123456789012:function:f`` -> ``123456789012``)."""
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 and parts[4].isdigit() else None


def role_of_session(arn: str) -> str | None:
    """``arn:aws:sts::ACCT:assumed-role/ROLE/SESSION`` -> ``ROLE``."""
    if ":assumed-role/" in arn:
        return arn.split(":assumed-role/", 1)[1].split("/", 1)[0]
    return None


def role_arn_of_session(arn: str) -> str | None:
    """``arn:P:sts::ACCT:assumed-role/ROLE/SESSION`` -> ``arn:P:iam::ACCT:role/ROLE``."""
    role = role_of_session(arn)
    if role is None:
        return None
    parts = arn.split(":")
    return f"arn:{parts[1]}:iam::{parts[4]}:role/{role}"


def principal_names(arn_or_name: str) -> set[str]:
    """Every spelling a PROTECTED_PRINCIPALS entry may use for this principal."""
    names = {arn_or_name}
    if arn_or_name.startswith("arn:"):
        resource = arn_or_name.split(":", 5)[-1]
        role = role_of_session(arn_or_name)
        if role:
            names |= {role, str(role_arn_of_session(arn_or_name))}
        elif resource.startswith(("user/", "role/")):
            names.add(resource.rsplit("/", 1)[-1])
        elif resource == "root":
            names.add("root")
    return names
