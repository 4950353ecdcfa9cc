"""What a user or client sees when a message could not be handed to its channel."""

from __future__ import annotations

from mamori.core.errors import MamoriError


class DeliveryFailed(MamoriError):
    """The SMTP server or SMS provider refused or did not answer. Nothing was sent."""

    code, status, title = (
        "delivery_failed",
        502,
        "We couldn't send the message. Try again in a moment.",
    )


class DeliveryNotConfigured(DeliveryFailed):
    """Production without SMTP / an SMS provider: there is no way to reach the person."""

    status, title = 503, "This server can't send that kind of message yet."


class MessageNotFound(MamoriError):
    code, status, title = "not_found", 404, "No message has that id."


class NotRetryable(MamoriError):
    """An operator asked to send again a message that cannot or need not be sent again."""

    code, status, title = "not_retryable", 409, "This message is not sent again."
