"""Log lines keep secrets out whatever logger writes them."""

from __future__ import annotations

import io
import json
import logging

from mamori.observability.logs import HideSecretPaths, JsonFormatter
from mamori.recovery.views import CANCEL_LINK  # importing it registers the secret path


def test_a_log_line_that_names_a_secret_bearing_path_keeps_only_the_route():
    """As uvicorn's access log always did: an error on a cancel link must not put the
    link's secret in the log, whatever logger writes the line."""
    written = io.StringIO()
    handler = logging.StreamHandler(written)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(HideSecretPaths())
    logger = logging.getLogger("mamori.test-secret-paths")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        logger.error("unexpected error on %s %s", "GET", f"{CANCEL_LINK}S3cretCancelToken")
    finally:
        logger.removeHandler(handler)
    entry = json.loads(written.getvalue())
    assert entry["message"] == f"unexpected error on GET {CANCEL_LINK}…"
