"""`mamori support …` (the queue) and `mamori users grant-operator | revoke-operator`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from mamori.accounts.models import User
from mamori.accounts.service import find_by_username
from mamori.audit.service import Origin
from mamori.bootstrap import context_from_environment
from mamori.context import Context
from mamori.core.errors import MamoriError
from mamori.core.terminal import safe_json, safe_text
from mamori.settings import Settings
from mamori.support import service
from mamori.support.models import STATUSES

support = typer.Typer(
    help="Work the support queue (the last resort of recovery).", no_args_is_help=True
)
ORIGIN = Origin.operator()


@contextmanager
def _unit_of_work() -> Iterator[tuple[Session, Context]]:
    """The server's own context (database, secrets file, throttles); a named error ends
    the command with its code instead of a traceback."""
    ctx = context_from_environment(Settings())
    try:
        with ctx.database.session() as db:
            yield db, ctx
    except MamoriError as error:
        typer.echo(f"error: {error.code}: {error.title}", err=True)
        raise typer.Exit(1) from error
    finally:
        ctx.database.engine.dispose()


def _account(db: Session, username: str) -> User:
    user = find_by_username(db, username)
    if user is None:
        typer.echo(f"no account named '{safe_text(username)}'", err=True)
        raise typer.Exit(1)
    return user


def grant_operator(username: str) -> None:
    """Let an account work the support queue (pages and commands)."""
    with _unit_of_work() as (db, ctx):
        changed = service.grant_operator(db, ctx, ORIGIN, _account(db, username), granted_by="cli")
    typer.echo(f"{safe_text(username)} is an operator" + ("" if changed else " already"))


def revoke_operator(username: str) -> None:
    """Take the support queue away from an account."""
    with _unit_of_work() as (db, ctx):
        changed = service.revoke_operator(db, ctx, ORIGIN, _account(db, username), revoked_by="cli")
    name = safe_text(username)
    typer.echo(f"{name} is no longer an operator" if changed else f"{name} was not one")


@support.command("list")
def list_cases(
    status: Annotated[str | None, typer.Option(help="open, approved or denied")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line")] = False,
) -> None:
    """Cases, newest first: reference, status, account, masked contact. Unseals nothing."""
    if status is not None and status not in STATUSES:
        typer.echo(f"--status must be one of {', '.join(STATUSES)}", err=True)
        raise typer.Exit(2)
    with _unit_of_work() as (db, _ctx):
        cases = service.list_cases(db, status=status, limit=limit)
    for case in cases:
        row = {
            "reference": case.reference,
            "status": case.status,
            "created_at": case.created_at.isoformat(),
            "account": case.account,
            "contact": case.contact_masked,
            "files": case.files,
            "decided_at": case.decided_at.isoformat() if case.decided_at else None,
        }
        if as_json:
            typer.echo(safe_json(row))
        else:
            typer.echo(
                f"{case.reference}  {case.status:<8} {case.created_at:%Y-%m-%d %H:%M}  "
                f"account={safe_text(case.account or '-')}  "
                f"contact={safe_text(case.contact_masked)}  files={case.files}"
            )


@support.command("show")
def show_case(
    reference: str,
    operator: Annotated[
        str | None, typer.Option(help="Your operator account, recorded in the audit log")
    ] = None,
    save_evidence: Annotated[
        Path | None, typer.Option(help="Write the case's files into this directory")
    ] = None,
) -> None:
    """Everything in a case, unsealed (audited)."""
    with _unit_of_work() as (db, ctx):
        who = service.find_operator(db, operator) if operator else None
        case = service.view_case(db, ctx, ORIGIN, reference, operator=who, via="cli")
        saved = []
        if save_evidence is not None:
            save_evidence.mkdir(parents=True, exist_ok=True)
            for file in case.evidence:
                info, data = service.open_evidence(
                    db, ctx, ORIGIN, reference, file.position, operator=who, via="cli"
                )
                # Numbered, so two files of one name (or a hostile one) never overwrite.
                target = (
                    save_evidence / f"{case.summary.reference}-{info.position + 1}-{info.filename}"
                )
                target.write_bytes(data)
                saved.append(target)
    summary = case.summary
    typer.echo(f"reference: {summary.reference}")
    typer.echo(f"status: {summary.status}")
    typer.echo(f"opened: {summary.created_at.isoformat()}")
    typer.echo(f"account: {safe_text(summary.account or '- (no matching account)')}")
    typer.echo(f"typed login: {safe_text(case.login)}")
    typer.echo(f"contact e-mail: {safe_text(case.contact_email)}")
    if summary.decided_at:
        decided_by = safe_text(case.decided_by or "-")
        typer.echo(f"decided: {summary.decided_at.isoformat()} by {decided_by}")
    if case.decision:
        typer.echo(f"note: {safe_text(case.decision)}")
    typer.echo("what happened:")
    for line in case.what_happened.splitlines():
        typer.echo(f"  {safe_text(line)}")
    typer.echo(f"files: {len(case.evidence)}")
    for file in case.evidence:
        typer.echo(
            f"  {file.position + 1}. {safe_text(file.filename)}  {safe_text(file.content_type)}  "
            f"{file.size} bytes"
        )
    for target in saved:
        typer.echo(f"saved {safe_text(target)}")


@support.command("approve")
def approve_case(
    reference: str,
    operator: Annotated[str, typer.Option(help="Your operator account")],
    note: Annotated[str | None, typer.Option(help="Why, for the record (sealed)")] = None,
) -> None:
    """Send a recovery link to the case's contact e-mail (it takes the holding period)."""
    with _unit_of_work() as (db, ctx):
        who = service.find_operator(db, operator)
        service.approve_case(db, ctx, ORIGIN, reference, operator=who, note=note)
    typer.echo(f"{reference} approved: a recovery link went to the contact e-mail")


@support.command("deny")
def deny_case(
    reference: str,
    operator: Annotated[str, typer.Option(help="Your operator account")],
    reason: Annotated[str, typer.Option(help="Why, for the record (sealed; not sent)")],
) -> None:
    """Close the case without a recovery; the contact e-mail is told in general words."""
    with _unit_of_work() as (db, ctx):
        who = service.find_operator(db, operator)
        service.deny_case(db, ctx, ORIGIN, reference, operator=who, reason=reason)
    typer.echo(f"{reference} denied")
