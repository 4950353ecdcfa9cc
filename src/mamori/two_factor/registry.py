"""Every second factor, by its `Method`: the one place that lists them. A passkey the
person has comes first (it cannot be phished); then the methods set up (the default
first); then "Try another way" offers the rest in this order."""

from __future__ import annotations

from mamori.backup_codes.factor import BackupCodes
from mamori.passkeys.factor import PasskeyFactor
from mamori.second_factors.methods import Method, SecondFactor, SendsCodes, SetUpFactor
from mamori.totp.factor import AuthenticatorApp
from mamori.two_factor.security_codes import EmailedCode, TextMessage

_APP, _TEXT, _EMAIL, _PASSKEY = AuthenticatorApp(), TextMessage(), EmailedCode(), PasskeyFactor()

# The methods a person sets up; having one turns two-factor on.
SET_UP: dict[Method, SetUpFactor] = {
    Method.PASSKEY: _PASSKEY,
    Method.TOTP: _APP,
    Method.SMS: _TEXT,
}
# The methods whose code is sent for each login.
SENDERS: dict[Method, SendsCodes] = {Method.SMS: _TEXT, Method.EMAIL: _EMAIL}
FACTORS: dict[Method, SecondFactor] = {
    **SET_UP,
    Method.EMAIL: _EMAIL,
    Method.BACKUP_CODE: BackupCodes(),
}
# Offered before every other method whenever the person has one.
PHISHING_RESISTANT: tuple[Method, ...] = (Method.PASSKEY,)
