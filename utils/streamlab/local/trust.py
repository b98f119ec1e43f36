"""Who may talk to a loopback server at all: the Host and browser checks.

Binding to 127.0.0.1 keeps other machines out, not web pages: after DNS
rebinding a page's requests reach loopback carrying its own host name, and a
cross-site form post needs no preflight. So, like Jupyter Server, the emulator
and the Runtime API servers answer only requests whose ``Host`` is a loopback
name with their own port, and refuse any request a browser marks as coming
from a page that is not on loopback (``Origin``, ``Sec-Fetch-Site``). These
checks come first, before any body is read; signatures (``signatures``) are
the second gate.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})


def _split_host(value: str) -> tuple[str, int | None] | None:
    """``(name, port)`` from a Host header value (``[::1]:4599``), None when malformed."""
    try:
        parts = urlsplit(f"//{value}")
        return (parts.hostname or "", parts.port)
    except ValueError:
        return None


def host_refusal(host: str | None, port: int, names: Iterable[str] = LOOPBACK_NAMES) -> str | None:
    """Why a ``Host`` header is refused, or None when it names this server on loopback."""
    if not host:
        return "Refused: the request has no Host header."
    parsed = _split_host(host)
    if parsed is None or parsed[0] not in set(names) or parsed[1] != port:
        return (
            f"Refused: Host {host!r} is not this emulator's loopback address "
            f"(127.0.0.1:{port}); a web page may be trying to reach it."
        )
    return None


def is_loopback_origin(origin: str) -> bool:
    """An ``Origin`` of a page served from this machine's loopback (any port)."""
    try:
        parts = urlsplit(origin)
        return parts.scheme in ("http", "https") and (parts.hostname or "") in LOOPBACK_NAMES
    except ValueError:
        return False


def browser_refusal(origin: str | None, fetch_site: str | None) -> str | None:
    """Why a browser request is refused, or None for a non-browser or loopback one."""
    if origin is not None and not is_loopback_origin(origin):
        return f"Refused: requests from web pages ({origin}) may not use the emulator."
    if (fetch_site or "").strip().lower() == "cross-site":
        return "Refused: cross-site requests from web pages may not use the emulator."
    return None


def refusal(
    headers: Mapping[str, str], port: int, names: Iterable[str] = LOOPBACK_NAMES
) -> str | None:
    """Both checks over case-insensitive ``headers``; None when the request may go on."""
    return host_refusal(headers.get("Host"), port, names) or browser_refusal(
        headers.get("Origin"), headers.get("Sec-Fetch-Site")
    )


def environ_refusal(
    environ: Mapping[str, object], port: int, names: Iterable[str] = LOOPBACK_NAMES
) -> str | None:
    """``refusal`` over a WSGI environ."""
    return host_refusal(str(environ.get("HTTP_HOST") or ""), port, names) or browser_refusal(
        environ.get("HTTP_ORIGIN"),  # type: ignore[arg-type]
        environ.get("HTTP_SEC_FETCH_SITE"),  # type: ignore[arg-type]
    )


def without_cors(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Drop every ``Access-Control-*`` header (moto's server adds permissive ones)."""
    return [
        (name, value) for name, value in headers if not name.lower().startswith("access-control-")
    ]
