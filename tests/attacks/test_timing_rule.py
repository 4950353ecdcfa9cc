"""The rule the enumeration tests judge timings by: it must still catch a leak."""

from __future__ import annotations

from tests.attacks.timing import Timing


def test_a_known_account_slower_in_every_round_is_a_leak() -> None:
    leak = Timing("login", rounds=[(0.060, 0.040), (0.058, 0.041), (0.061, 0.039)])

    assert not leak.alike


def test_one_round_within_ten_percent_is_alike() -> None:
    fair = Timing("login", rounds=[(0.060, 0.050), (0.052, 0.050)])

    assert fair.alike


def test_rounds_apart_in_opposite_directions_are_noise() -> None:
    noisy = Timing("recovery", rounds=[(0.0629, 0.0565), (0.0447, 0.0501), (0.0593, 0.0537)])

    assert noisy.alike
