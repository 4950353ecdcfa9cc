from __future__ import annotations

from mamori.core.errors import MamoriError


class ContactProblem(MamoriError):
    """A problem with one named username; the body names it (`username`)."""

    def __init__(self, username: str) -> None:
        super().__init__(username=username[:30])
        self.username = username[:30]


class TooFewContacts(MamoriError):
    code, status, title = (
        "too_few_trusted_contacts",
        422,
        "Choose 3 to 5 trusted contacts",
    )


class TooManyContacts(MamoriError):
    code, status, title = (
        "too_many_trusted_contacts",
        422,
        "Choose 3 to 5 trusted contacts",
    )


class DuplicateContact(ContactProblem):
    code, status, title = (
        "duplicate_username",
        422,
        "You named the same person twice",
    )


class UnknownContact(ContactProblem):
    # Usernames are public handles (shown at sign-up): naming an unknown one leaks nothing.
    code, status, title = (
        "unknown_username",
        422,
        "There's no mamori account with that username",
    )


class CannotChooseYourself(ContactProblem):
    code, status, title = (
        "cannot_choose_yourself",
        422,
        "You can't be your own trusted contact",
    )


class ContactDeclined(ContactProblem):
    code, status, title = (
        "contact_declined",
        422,
        "This person declined to be your trusted contact",
    )


class ContactNotFound(MamoriError):
    code, status, title = (
        "trusted_contact_not_found",
        404,
        "No such trusted contact",
    )


class RequestNotFound(MamoriError):
    # Someone else's request, or none: the same answer, so ids reveal nothing.
    code, status, title = (
        "trusted_contact_request_not_found",
        404,
        "No such request for help",
    )


class RequestExpired(MamoriError):
    code, status, title = (
        "trusted_contact_request_expired",
        410,
        "This request for help has ended: the recovery finished, expired or was cancelled",
    )


class RequestClosed(MamoriError):
    code, status, title = (
        "trusted_contact_request_closed",
        409,
        "This request for help is closed: its code was used or you said it isn't them",
    )


class ContactCodeExpired(MamoriError):
    code, status, title = (
        "trusted_contact_code_expired",
        410,
        "That code expired. Ask your contact to open the request again.",
    )
