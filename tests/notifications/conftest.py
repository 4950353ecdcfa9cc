from __future__ import annotations

import dataclasses
from typing import Any

from mamori.context import Context


def configured(ctx: Context, **settings: Any) -> Context:
    """The same context with some settings changed (SMTP host, SMS provider, env …)."""
    return dataclasses.replace(ctx, settings=ctx.settings.model_copy(update=settings))
