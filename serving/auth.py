"""Who is calling: the caller of a request, loopback checks, console sessions, the start-up check."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from serving.keys import ALL_SCOPES, KeyStore

DEFAULT_TENANT = "default"
CONSOLE_PREFIX = "tc"
CONSOLE_SESSION_TTL = timedelta(hours=12)
# Headers a reverse proxy adds: a request carrying one is not treated as coming from this machine.
_FORWARDED = ("forwarded", "x-forwarded-for", "x-real-ip")
_LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]", "::1")
# The console reads and writes what agents and leads do; managing keys stays with real keys.
CONSOLE_SCOPES = frozenset(ALL_SCOPES) - {"keys:admin"}


@dataclass(frozen=True)
class Caller:
    """The identity of one request: a key (or console session) of one tenant with its scopes."""

    key_id: str
    tenant: str
    scopes: frozenset[str]
    name: str = ""

    def allows(self, scope: str) -> bool:
        return scope in self.scopes


class TenantMismatch(Exception):
    """A request named a tenant other than its key's."""

    def __init__(self, loc: tuple[str | int, ...], given: str, caller: Caller) -> None:
        self.loc = loc
        self.given = given
        self.tenant = caller.tenant
        super().__init__(
            f"{'.'.join(map(str, loc))} is {given!r} but this API key belongs to tenant {caller.tenant!r}; "
            f"leave tenant out (the key's tenant is used) or call with a key of tenant {given!r}"
        )


def is_loopback_address(host: str | None) -> bool:
    """Whether an address or host name to bind or to come from is this machine."""
    if not host:
        return False
    if host in _LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_local_request(client_host: str | None, headers: Mapping[str, str]) -> bool:
    """A request from this machine that no proxy forwarded, addressed to a loopback host name.

    The Host check defeats DNS rebinding (a web page whose name resolves to 127.0.0.1); the
    forwarded-header check keeps a reverse proxy on the same machine from making every client local.
    """
    if not is_loopback_address(client_host):
        return False
    if any(h in headers for h in _FORWARDED):
        return False
    host = headers.get("host", "")
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    return is_loopback_address(name)


class ConsoleSessions:
    """Short-lived keys for the web console opened on this machine, signed, never stored.

    A key is ``tc_<session id>_<expiry, hex Unix seconds>.<HMAC-SHA256 of both>`` under ``secret``:
    any process holding the same secret accepts it (every worker process of one server start: the
    run folder's ``console.key``); without one given, a random secret of this process, so the keys
    end with it, as before.
    """

    def __init__(
        self, tenant: str = DEFAULT_TENANT, ttl: timedelta = CONSOLE_SESSION_TTL, secret: bytes | None = None
    ) -> None:
        self.tenant = tenant
        self.ttl = ttl
        self._secret = secret or secrets.token_bytes(32)

    def _signature(self, session_id: str, expires: int) -> str:
        return hmac.new(self._secret, f"{session_id}.{expires:x}".encode(), hashlib.sha256).hexdigest()

    def issue(self) -> tuple[str, datetime]:
        """A new console key and its expiry."""
        session_id = secrets.token_hex(4)
        expires = int((datetime.now(UTC) + self.ttl).timestamp())
        token = f"{CONSOLE_PREFIX}_{session_id}_{expires:x}.{self._signature(session_id, expires)}"
        return token, datetime.fromtimestamp(expires, UTC)

    def verify(self, token: str) -> Caller | None:
        parts = token.split("_", 2)
        if len(parts) != 3 or parts[0] != CONSOLE_PREFIX:
            return None
        session_id, (stamp, _, signature) = parts[1], parts[2].partition(".")
        try:
            expires = int(stamp, 16)
        except ValueError:
            return None
        if not hmac.compare_digest(
            self._signature(session_id, expires).encode(), signature.encode("utf-8", "replace")
        ):
            return None
        if expires <= datetime.now(UTC).timestamp():
            return None
        return Caller(f"console-{session_id}", self.tenant, CONSOLE_SCOPES, "web console")


def exposure_problem(host: str, keys: KeyStore) -> str | None:
    """Why serving on ``host`` would be unsafe, or None: a non-loopback address needs a key first."""
    if is_loopback_address(host) or keys.any_active():
        return None
    return (
        f"refusing to listen on {host}: no API key exists, so no client on the network could be "
        "let in. Create one first, e.g. 'triage keys create --tenant default --scopes triage,feedback "
        "--name my-ticket-system' (same --data-dir/--config), or listen on 127.0.0.1"
    )
