"""boto3 clients: one per (account, service, region), reused, with adaptive retries.

Clients are thread-safe once made; making them is not, so a lock guards the cache. Clients live
at module scope so a warm Lambda container reuses them between invocations. In organization mode a
member account's clients come from one AssumeRole per (account, incident), refreshed before expiry,
and share the hub session's botocore loader (service models are read once, not once per account).
"""

from __future__ import annotations

import html
import os
import re
import threading
from datetime import UTC, datetime
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.credentials import RefreshableCredentials
from botocore.exceptions import BotoCoreError, ClientError


def retry_config() -> Config:
    """Adaptive retries (client-side rate limiting on throttles); AWS_MAX_ATTEMPTS overrides 8."""
    return Config(
        retries={"mode": "adaptive", "max_attempts": int(os.environ.get("AWS_MAX_ATTEMPTS") or 8)},
        connect_timeout=5,
        read_timeout=20,
        max_pool_connections=16,
    )


_LOADER_LOCK = threading.Lock()
_LOADER: Any = None


def new_session() -> boto3.session.Session:
    """A boto3 session sharing the process's botocore loader: service models are parsed once per process, not
    once per session (a new session per test, or per member account, would parse ec2's model again)."""
    global _LOADER
    session = boto3.session.Session()
    with _LOADER_LOCK:
        if _LOADER is None:
            _LOADER = session._session.get_component("data_loader")
        else:
            session._session.register_component("data_loader", _LOADER)
    return session


class Clients:
    """Factory and cache of boto3 clients for one boto3 session (one account's credentials)."""

    def __init__(
        self, session: boto3.session.Session | None = None, config: Config | None = None, account: str | None = None
    ) -> None:
        self._session = session or new_session()
        self._config = config or retry_config()
        self._cache: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()
        self.account = account  # None: the account of the environment's credentials

    @property
    def session(self) -> boto3.session.Session:
        return self._session

    def get(self, service: str, region: str) -> Any:
        key = (service, region)
        client = self._cache.get(key)
        if client is None:
            with self._lock:
                client = self._cache.get(key)
                if client is None:
                    client = self._session.client(service, region_name=region, config=self._config)
                    self._cache[key] = client
        return client

    def partition_regions(self, home_region: str) -> list[str]:
        partition = self._session.get_partition_for_region(home_region)
        return list(self._session.get_available_regions("ec2", partition_name=partition))


_ASSUMED: dict[tuple[str, str], Clients] = {}
_ASSUMED_LOCK = threading.Lock()
REFRESH_SECONDS = 15 * 60  # botocore refreshes assumed-role credentials this long before they expire


def assumed(hub: Clients, role_arn: str, session_name: str, region: str) -> Clients:
    """Clients acting in another account through ``role_arn``. The first AssumeRole happens here, so a role
    that cannot be assumed fails now (before anything is planned), with AWS's error."""
    key = (role_arn, session_name)
    with _ASSUMED_LOCK:
        found = _ASSUMED.get(key)
    if found is not None:
        return found
    sts = hub.get("sts", region)

    def fetch() -> dict[str, str]:
        creds = sts.assume_role(RoleArn=role_arn, RoleSessionName=session_name[:64], DurationSeconds=3600)
        c = creds["Credentials"]
        expiry = c["Expiration"]
        return {
            "access_key": c["AccessKeyId"],
            "secret_key": c["SecretAccessKey"],
            "token": c["SessionToken"],
            "expiry_time": (expiry if isinstance(expiry, datetime) else datetime.now(UTC)).isoformat(),
        }

    credentials = RefreshableCredentials.create_from_metadata(fetch(), fetch, "assume-role")
    member = botocore.session.get_session()
    member._credentials = credentials
    member.register_component("data_loader", hub.session._session.get_component("data_loader"))
    clients = Clients(
        boto3.session.Session(botocore_session=member, region_name=region), hub._config, role_arn.split(":")[4]
    )
    with _ASSUMED_LOCK:
        if len(_ASSUMED) > 256:
            _ASSUMED.clear()
        return _ASSUMED.setdefault(key, clients)


_DEFAULT: Clients | None = None
_DEFAULT_LOCK = threading.Lock()


def default_clients() -> Clients:
    """The process-wide client cache (reset by tests through ``reset_default_clients``)."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = Clients()
        return _DEFAULT


def reset_default_clients() -> None:
    global _DEFAULT
    with _DEFAULT_LOCK:
        _DEFAULT = None
    with _ASSUMED_LOCK:
        _ASSUMED.clear()


def caller_account(clients: Clients, region: str) -> str | None:
    """The account of the current credentials (STS GetCallerIdentity needs no IAM permission); None if unknown."""
    try:
        return str(clients.get("sts", region).get_caller_identity()["Account"])
    except Exception:  # noqa: BLE001 - principal ARNs stay unknown; names still match
        return None


def error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "ClientError"))
    if isinstance(exc, BotoCoreError):
        return type(exc).__name__
    return type(exc).__name__


ERROR_TEXT_MAX = 300
_MARKUP = re.compile(r"<[^>]*>|<!--.*?-->", re.DOTALL)
_SCRIPT = re.compile(r"<(script|style)\b.*?</\1\s*>", re.DOTALL | re.IGNORECASE)


def clean_text(text: str, limit: int = ERROR_TEXT_MAX) -> str:
    """Plain, one-line, bounded text: AWS errors sometimes carry a whole HTML page (a proxy's 5xx)."""
    text = html.unescape(_MARKUP.sub(" ", _SCRIPT.sub(" ", text)))
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def describe_error(exc: BaseException) -> str:
    """``Code: message``, at most 300 characters, no markup (contract: "Truth of the report")."""
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        text = f"{err.get('Code') or 'ClientError'}: {err.get('Message') or ''}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    return clean_text(text).rstrip(": ")


AWS_ERRORS = (ClientError, BotoCoreError)
