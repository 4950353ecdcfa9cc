"""Request-scoped helpers shared by every route module."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from mamori.context import Context
from mamori.core.net import Origin, client_ip, user_agent


# Both async: they do no I/O, and a sync dependency costs a trip to the thread pool.
async def get_context(request: Request) -> Context:
    context: Context = request.app.state.ctx
    return context


async def request_origin(request: Request) -> Origin:
    trusted = tuple(request.app.state.ctx.settings.trusted_proxies)
    peer = request.client.host if request.client else None
    ip = client_ip(peer, request.headers.get("x-forwarded-for"), trusted)
    return Origin(ip=ip, user_agent=user_agent(request.headers.get("user-agent")))


Ctx = Annotated[Context, Depends(get_context)]
RequestOrigin = Annotated[Origin, Depends(request_origin)]
