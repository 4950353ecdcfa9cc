"""`mamori recovery …`: what operators see of recoveries, and applying those that came due."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy import select

from mamori.accounts.models import User
from mamori.audit.service import Origin
from mamori.bootstrap import context_from_environment
from mamori.core.terminal import safe_json, safe_text
from mamori.recovery.models import HOLDING, OPEN, RecoveryAttempt
from mamori.recovery.service import apply_due_recoveries
from mamori.settings import Settings

commands = typer.Typer(help="Account recoveries under way.", no_args_is_help=True)


@commands.command("list")
def list_recoveries(
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line")] = False,
) -> None:
    """Open and holding recoveries of real accounts, newest first (never their secrets)."""
    ctx = context_from_environment(Settings())
    with ctx.database.session() as db:
        rows = db.execute(
            select(RecoveryAttempt, User.username)
            .join(User, User.id == RecoveryAttempt.user_id)
            .where(RecoveryAttempt.state.in_((OPEN, HOLDING)))
            .order_by(RecoveryAttempt.id.desc())
            .limit(limit)
        ).all()
        for attempt, username in rows:
            row = {
                "id": attempt.public_id,
                "username": username,
                "state": attempt.state,
                "started_at": attempt.created_at.isoformat(),
                "takes_effect_at": (
                    attempt.takes_effect_at.isoformat() if attempt.takes_effect_at else None
                ),
                "removes_second_factor": attempt.removes_second_factor,
            }
            if as_json:
                typer.echo(safe_json(row))
            else:
                typer.echo(
                    f"{row['id']}  {safe_text(username):<30} {attempt.state:<8} "
                    f"started {row['started_at']}"
                    + (
                        f"  takes effect {row['takes_effect_at']}"
                        if attempt.takes_effect_at
                        else ""
                    )
                )


@commands.command("apply-due")
def apply_due() -> None:
    """Let holding recoveries whose time has come take effect (safe to run from cron:
    logins and the recovery page also apply them)."""
    ctx = context_from_environment(Settings())
    with ctx.database.session() as db:
        applied = apply_due_recoveries(db, ctx, Origin.operator())
    typer.echo(f"{applied} recoveries took effect")
