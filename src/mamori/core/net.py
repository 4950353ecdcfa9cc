"""Who is asking: the client IP through trusted proxies only, and the user agent."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from functools import cache

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# PostgreSQL refuses NUL in text, and no real browser sends control characters.
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Origin:
    """Where a request came from, as far as the trusted proxy settings let us tell."""

    ip: str | None = None
    user_agent: str | None = None

    @classmethod
    def operator(cls) -> Origin:
        return cls(ip=None, user_agent="mamori-cli")


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
            return _plain_address(hop) or peer
    return (_plain_address(hops[0]) or peer) if hops else peer


def _plain_address(text: str) -> str | None:
    """The canonical form of an IP address, without an IPv6 zone ("%eth0"), which a
    forwarded header could make arbitrarily long or fill with control characters."""
    try:
        return str(ipaddress.ip_address(text.partition("%")[0]))
    except ValueError:
        return None


def user_agent(header: str | None) -> str | None:
    """What is stored and shown of a User-Agent: printable, at most 256 characters."""
    return CONTROL.sub("", header or "")[:256] or None
