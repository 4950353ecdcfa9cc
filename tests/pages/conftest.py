"""The browser of tests/e2e: one Chromium for the walk."""

from tests.e2e.conftest import browser

__all__ = ["browser"]
