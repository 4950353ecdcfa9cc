"""mamori (守り): a self-hosted account-security server."""

__version__ = "0.1.0"
