"""The rule the enumeration tests judge timings by: it must still catch a leak."""

from __future__ import annotations

from tests.attacks.timing import Round, Timing

# How the load on a shared machine moves within a round: every pair meets its own.
LOAD = [1.0, 1.3, 0.9, 2.0, 1.1, 1.0, 1.6, 0.95, 1.2, 1.0, 3.0]


def round_of(known: float, unknown: float) -> Round:
    """A round in which each pair's two requests met the same load."""
    return Round([known * load for load in LOAD], [unknown * load for load in LOAD])


def test_a_known_account_slower_in_every_round_is_a_leak() -> None:
    leak = Timing("login", rounds=[round_of(0.060, 0.040), round_of(0.058, 0.041)])
    leak.rounds.append(round_of(0.061, 0.039))

    assert not leak.alike


def test_a_one_statement_leak_under_load_is_still_a_leak() -> None:
    """About 1.5 ms on 10 ms (three reads of the account more, December 2026)."""
    leak = Timing("recovery send", rounds=[round_of(0.0115, 0.0100) for _ in range(3)])

    assert not leak.alike


def test_one_round_within_ten_percent_is_alike() -> None:
    fair = Timing("login", rounds=[round_of(0.060, 0.050), round_of(0.052, 0.050)])

    assert fair.alike


def test_rounds_apart_in_opposite_directions_are_noise() -> None:
    noisy = Timing("recovery", rounds=[round_of(0.0629, 0.0565), round_of(0.0447, 0.0501)])
    noisy.rounds.append(round_of(0.0593, 0.0537))

    assert noisy.alike
