from __future__ import annotations

from mamori.core.errors import MamoriError


class UsernameTaken(MamoriError):
    code, status, title = "username_taken", 409, "That username isn't available"


class ReservedUsername(MamoriError):
    # Digits and periods only would read as a phone number at login.
    code, status, title = "username_reserved", 422, "That username isn't available"


class InvalidUsername(MamoriError):
    code, status, title = (
        "invalid_username",
        422,
        "Usernames are 1–30 letters, numbers, periods and underscores",
    )


class InvalidEmail(MamoriError):
    code, status, title = "invalid_email", 422, "Enter a valid e-mail address"


class InvalidPhone(MamoriError):
    code, status, title = "invalid_phone", 422, "Enter a valid phone number"


class WeakPassword(MamoriError):
    status, title = 422, "Choose a different password"

    def __init__(self, code: str, **values: object) -> None:
        super().__init__(PASSWORD_PROBLEMS.get(code, self.title))
        self.code = code
        self.values = values


class WrongPassword(MamoriError):
    code, status, title = "invalid_credentials", 401, "The password isn't right"


PASSWORD_PROBLEMS = {
    "password_too_short": "Use at least %(min)s characters",
    "password_too_long": "Use at most %(max)s characters",
    "password_invalid_characters": "That password contains characters that can't be used",
    "password_too_common": "That password is one of the most common; choose another",
    "password_too_similar": "Your password can't be your username, e-mail or the site name",
}


class UnknownTimeZone(MamoriError):
    code, status, title = "unknown_time_zone", 422, "Choose a time zone from the list"
