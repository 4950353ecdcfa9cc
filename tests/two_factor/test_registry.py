"""Every kind of second factor is wired the whole way: an implementation that proves it,
a name the owner reads (in Japanese too), and a value the login API accepts."""

from __future__ import annotations

import typing

import pytest

from mamori.core.i18n import translator
from mamori.login.api import SendRequest, TwoFactorRequired, VerifyRequest
from mamori.second_factors.methods import METHOD_NAMES, Method
from mamori.two_factor.registry import FACTORS, SENDERS, SET_UP


@pytest.mark.parametrize("method", list(Method))
def test_every_method_has_an_implementation_under_its_own_name(method):
    assert FACTORS[method].method == method
    for subset in (SET_UP, SENDERS):
        if method in subset:
            assert subset[method] is FACTORS[method]


@pytest.mark.parametrize("method", list(Method))
def test_every_method_has_a_name_the_owner_reads_in_their_language(method):
    name = METHOD_NAMES[method]
    assert translator("ja")(name) != name


def test_the_login_api_names_exactly_the_registered_methods():
    offered = typing.get_args(TwoFactorRequired.model_fields["methods"].annotation)
    (choices,) = offered
    assert set(typing.get_args(choices)) == set(Method)
    assert set(typing.get_args(VerifyRequest.model_fields["method"].annotation)) == set(Method)
    sent = typing.get_args(SendRequest.model_fields["method"].annotation)
    assert set(sent) == set(SENDERS)
