"""What the UI server lets through: bind addresses, access tokens, CSRF, ids.

The rules (docs/ui.md "Security"):

- The server binds loopback by default. Binding any other address needs an
  access token; without one :func:`check_bind` refuses to start.
- With a token, every request carries it: ``?token=`` once, then an HttpOnly,
  SameSite=Strict cookie.
- Without a token (loopback only), the ``Host`` header must name a loopback
  host, so a web page on another origin cannot reach the server through DNS
  rebinding.
- Every state-changing request is a POST carrying the server's CSRF token.
- Ids taken from URLs are validated before anything looks them up.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
from http import cookies

from enact.errors import EnactError

__all__ = [
    "COOKIE",
    "CSRF_FIELD",
    "UIError",
    "check_bind",
    "host_allowed",
    "is_loopback",
    "parse_path",
    "same_secret",
    "token_cookie",
    "token_from_cookie",
    "valid_digest",
    "valid_run_id",
]

#: The cookie that carries the access token after the first request.
COOKIE = "enact_ui_token"
#: The form field that carries the CSRF token in every POST.
CSRF_FIELD = "_csrf"

_DIGEST = re.compile(r"[0-9a-f]{64}")
# The run index's own rule for run ids (enact.backends.index.check_run_id).
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_PATH = re.compile(r"(?:0|[1-9][0-9]{0,8})(?:\.(?:0|[1-9][0-9]{0,8}))*")
_TOKEN = re.compile(r"[A-Za-z0-9_.~-]{16,256}")
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "ip6-localhost"})


class UIError(EnactError, ValueError):
    """The UI server cannot start as asked (an unsafe bind, a bad argument)."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) is a loopback address."""
    host = host.strip("[]").lower()
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuses a bind that would expose the UI without an access token.

    Raises:
        UIError: if ``host`` is not loopback and no token is given, or the
            token is too short to resist guessing.
    """
    if token is not None and _TOKEN.fullmatch(token) is None:
        raise UIError(
            "The access token must have 16 to 256 characters among letters, digits "
            "and '_.~-'; `python -c 'import secrets; print(secrets.token_urlsafe())'` "
            "makes one."
        )
    if token is None and not is_loopback(host):
        raise UIError(
            f"Refusing to serve the UI on {host!r} without an access token: anyone "
            "who can reach that address could read and run your components. Bind "
            "127.0.0.1 (the default), or pass a token (enact ui --token ...)."
        )


def host_allowed(host_header: str | None, bound_host: str) -> bool:
    """Whether a request's ``Host`` header names this loopback server.

    Guards a token-less server against DNS rebinding: a page on
    ``evil.example`` that resolves to 127.0.0.1 sends ``Host: evil.example``.
    """
    if not host_header:
        return False
    host = host_header.strip()
    if host.startswith("["):  # [::1]:8765
        host = host[1 : host.find("]")] if "]" in host else host
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    return is_loopback(host) or host.lower() == bound_host.strip("[]").lower()


def same_secret(given: str | None, expected: str) -> bool:
    """Compares a secret in constant time (False for a missing one)."""
    if not given:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def token_from_cookie(header: str | None) -> str | None:
    """The access token in a ``Cookie`` header, if any."""
    if not header:
        return None
    jar = cookies.SimpleCookie()
    try:
        jar.load(header)
    except cookies.CookieError:
        return None
    morsel = jar.get(COOKIE)
    return None if morsel is None else morsel.value


def token_cookie(token: str) -> str:
    """The ``Set-Cookie`` value that keeps the access token for this server."""
    return f"{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict"


def valid_digest(text: str) -> bool:
    """Whether ``text`` is a ref digest (64 lowercase hex digits)."""
    return _DIGEST.fullmatch(text) is not None


def valid_run_id(text: str) -> bool:
    """Whether ``text`` is a possible run id (the run index's rule)."""
    return _RUN_ID.fullmatch(text) is not None


def parse_path(text: str) -> tuple[int, ...] | None:
    """A call path from its form ``2.0`` (``""`` is the top call), else None."""
    text = text.strip()
    if not text:
        return ()
    if _PATH.fullmatch(text) is None:
        return None
    return tuple(int(part) for part in text.split("."))
