"""Request-scoped helpers shared by every route module."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from mamori.audit.service import Origin
from mamori.context import Context
from mamori.core.net import request_origin


def get_context(request: Request) -> Context:
    context: Context = request.app.state.ctx
    return context


Ctx = Annotated[Context, Depends(get_context)]
RequestOrigin = Annotated[Origin, Depends(request_origin)]
