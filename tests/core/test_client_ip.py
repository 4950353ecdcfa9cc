"""Which address a request comes from: X-Forwarded-For counts only through trusted proxies."""

from __future__ import annotations

import pytest

from mamori.core.net import client_ip, user_agent

PROXIES = ("10.0.0.0/8", "2001:db8::/32")


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "seen"),
    [
        # No proxy configured: the header is anybody's to forge.
        ("203.0.113.5", "198.51.100.1", (), "203.0.113.5"),
        ("10.0.0.2", "198.51.100.1", (), "10.0.0.2"),
        # A peer outside the trusted proxies: its header is ignored.
        ("203.0.113.5", "198.51.100.1", PROXIES, "203.0.113.5"),
        # Through our proxy: the nearest address that is not a proxy of ours.
        ("10.0.0.2", "198.51.100.1", PROXIES, "198.51.100.1"),
        ("10.0.0.2", "6.6.6.6, 198.51.100.1, 10.0.0.3", PROXIES, "198.51.100.1"),
        ("2001:db8::1", "2001:DB8:0:0::7, 198.51.100.1", PROXIES, "198.51.100.1"),
        # A forged left part cannot push out the address our proxy wrote.
        ("10.0.0.2", "not-an-ip, 198.51.100.1", PROXIES, "198.51.100.1"),
        # Garbage where the client should be: the proxy itself is all we know.
        ("10.0.0.2", "<script>", PROXIES, "10.0.0.2"),
        ("10.0.0.2", "", PROXIES, "10.0.0.2"),
        ("10.0.0.2", None, PROXIES, "10.0.0.2"),
        # Only proxies in the chain: the first of them.
        ("10.0.0.2", "10.0.0.9, 10.0.0.3", PROXIES, "10.0.0.9"),
        # IPv6 zones are dropped (they could be any length, with any characters).
        ("10.0.0.2", "fe80::1%eth0", PROXIES, "fe80::1"),
        ("10.0.0.2", "fe80::1%\x00" + "z" * 300, PROXIES, "fe80::1"),
        ("10.0.0.2", " 198.51.100.1 ", PROXIES, "198.51.100.1"),
    ],
)
def test_client_ip(peer, forwarded, trusted, seen):
    assert client_ip(peer, forwarded, trusted) == seen


def test_a_very_long_chain_is_read_from_the_end_only():
    chain = ", ".join(["1.1.1.1"] * 10_000 + ["198.51.100.1"])

    assert client_ip("10.0.0.2", chain, PROXIES) == "198.51.100.1"


@pytest.mark.parametrize(
    ("header", "stored"),
    [
        (None, None),
        ("", None),
        ("\x00\x01", None),
        ("Mozilla/5.0\x00 (X11)", "Mozilla/5.0 (X11)"),
        ("x" * 1000, "x" * 256),
    ],
)
def test_user_agent_is_kept_printable_and_short(header, stored):
    assert user_agent(header) == stored
