"""Who is asking: the client IP through trusted proxies only, and the user agent."""

from __future__ import annotations

import ipaddress
from functools import cache

from starlette.requests import Request

from mamori.audit.service import Origin

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@cache
def _networks(proxies: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(p, strict=False) for p in proxies)


def _is_trusted(address: str, networks: tuple[IPNetwork, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_ip(peer: str | None, forwarded_for: str | None, trusted: tuple[str, ...]) -> str | None:
    """The nearest address that is not a trusted proxy. A raw X-Forwarded-For is ignored
    unless the connection itself comes from a trusted proxy."""
    networks = _networks(trusted)
    if peer is None or not networks or not _is_trusted(peer, networks):
        return peer
    hops = [hop.strip() for hop in (forwarded_for or "").split(",") if hop.strip()]
    for hop in reversed(hops[-20:]):
        if not _is_trusted(hop, networks):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer
    return hops[0] if hops else peer


def request_origin(request: Request) -> Origin:
    trusted = tuple(request.app.state.ctx.settings.trusted_proxies)
    peer = request.client.host if request.client else None
    ip = client_ip(peer, request.headers.get("x-forwarded-for"), trusted)
    return Origin(ip=ip, user_agent=request.headers.get("user-agent", "")[:256] or None)
