"""The operator's command line: serve, migrate, users, audit, outbox, recovery, support."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
import sys
from enum import StrEnum
from typing import Annotated

import typer
import uvicorn
from sqlalchemy import select

from mamori.accounts import service as accounts
from mamori.accounts.models import User
from mamori.audit.service import Origin, recent_events, record_event
from mamori.backup_codes.service import remaining_codes
from mamori.bootstrap import context_from_environment, prepare_storage
from mamori.core.clock import SystemClock
from mamori.core.crypto import load_or_create_keyring
from mamori.core.db import Database
from mamori.core.deployment import (
    THROTTLE_STORE,
    DeploymentFact,
    ThrottleStoreMismatch,
    agree_on_throttle_store,
    switch_throttle_store,
    throttle_store,
)
from mamori.core.terminal import safe_json, safe_text
from mamori.notifications.delivery import deliver_pending
from mamori.notifications.errors import MessageNotFound, NotRetryable
from mamori.notifications.models import OutboxMessage
from mamori.notifications.outbox import messages
from mamori.notifications.outbox import retry_message as requeue
from mamori.observability.logs import logging_config
from mamori.observability.metrics import MULTIPROCESS_VARIABLE, prepare_multiprocess_directory
from mamori.oidc import cli as oidc_cli
from mamori.oidc.backchannel import queue_backchannel_logouts
from mamori.oidc.housekeeping import forget_expired
from mamori.oidc.keys import ensure_signing_keys
from mamori.recovery.cli import commands as recovery_commands
from mamori.sessions.service import end_other_sessions
from mamori.settings import Settings
from mamori.support import cli as support_cli

app = typer.Typer(help="mamori: self-hosted account security.", no_args_is_help=True)
users = typer.Typer(help="Look up and manage accounts.", no_args_is_help=True)
app.add_typer(users, name="users")
app.add_typer(recovery_commands, name="recovery")
outbox = typer.Typer(
    help="Messages mamori sends: list, show, retry, deliver.", no_args_is_help=True
)
app.add_typer(outbox, name="outbox")
app.add_typer(support_cli.support, name="support")
app.add_typer(oidc_cli.clients, name="clients")
app.add_typer(oidc_cli.keys, name="keys")
users.command("grant-operator")(support_cli.grant_operator)
users.command("revoke-operator")(support_cli.revoke_operator)


def create_app_from_environment() -> object:
    # Imported here, not at the top: the app pulls in every feature's routes and templates,
    # which `mamori --help` and the other commands never need (they stay fast).
    from mamori.app import create_app

    limit_malloc_arenas()
    settings = Settings()
    app = create_app(settings, deliver_in_background=settings.delivery_worker)
    # What the app imported and built lives as long as the worker: out of the collector's
    # sight, a full collection no longer walks it (pauses of tens of ms at p99 before).
    gc.collect()
    gc.freeze()
    return app


# glibc's mallopt parameter number for the most malloc arenas a process keeps.
M_ARENA_MAX = -8
MALLOC_ARENAS = 2


def limit_malloc_arenas() -> None:
    """At most two malloc arenas in this worker, unless MALLOC_ARENA_MAX says otherwise.

    glibc gives each thread that allocates at once an arena of its own (up to 8 per core)
    and returns little of it: under a steady load a worker grew from 540 to 740 MiB in ten
    minutes, following the thread pool. With two arenas the same soak held at 210-250 MiB,
    flat, at the same latency (docs/benchmarks.md). Called before the worker starts a
    thread; elsewhere than glibc it does nothing."""
    if os.environ.get("MALLOC_ARENA_MAX") or sys.platform != "linux":
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(M_ARENA_MAX, MALLOC_ARENAS)
    except (OSError, AttributeError):  # not glibc (musl has no mallopt to speak of)
        return


WORKER_STARTUP_SECONDS = 30


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes")] = 1,
) -> None:
    """Run the server. Migrations are applied and secrets created before it listens.

    Request line and headers: at most MAMORI_MAX_HEADER_BYTES (16 KiB; more gets 431),
    complete within MAMORI_HEADER_TIMEOUT_SECONDS (10 s) of connecting or of the
    request's first byte (else the connection is closed). It refuses to start when
    the database records another throttle store (see `mamori throttle-store`)."""

    settings = Settings()
    database = prepare_storage(settings)
    try:
        _agree_on_throttle_store(database, settings)
        # OpenID Connect's signing keys are made on first start, sealed under the keyring.
        with database.session() as db:
            ensure_signing_keys(
                db, settings, load_or_create_keyring(settings.resolved_secrets_file), SystemClock()
            )
    finally:
        database.engine.dispose()
    typer.echo(
        f"mamori on http://{host}:{port} ({settings.env}, {settings.resolved_database_url.split('://')[0]})"
    )
    os.environ.setdefault("MAMORI_DATA_DIR", str(settings.data_dir))
    if workers > 1:
        # Workers count into files here and /metrics sums them (observability/metrics.py).
        metrics_directory = settings.data_dir.resolve() / "metrics"
        prepare_multiprocess_directory(metrics_directory)
        os.environ[MULTIPROCESS_VARIABLE] = str(metrics_directory)
    uvicorn.run(
        "mamori.cli:create_app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        # A worker imports all of mamori before it answers the supervisor's health check;
        # on a loaded machine that takes longer than uvicorn's 5 s, and a worker killed
        # for it is restarted only to be killed again. A hung worker is still replaced.
        timeout_worker_healthcheck=WORKER_STARTUP_SECONDS,
        proxy_headers=False,  # client IPs come from MAMORI_TRUSTED_PROXIES only
        # Bounds on header size and header-send time (MAMORI_MAX_HEADER_BYTES,
        # MAMORI_HEADER_TIMEOUT_SECONDS), which uvicorn's own protocols lack.
        http="mamori.web.protocol:LimitedHttpProtocol",
        server_header=False,
        log_config=logging_config(settings.resolved_log_format),
        access_log=False,  # mamori.access writes it, with the route instead of the path
    )


def _agree_on_throttle_store(database: Database, settings: Settings) -> None:
    """Refuse to start with failure counters apart from the other instances' (see
    core/deployment.py): a clear message and exit status 1."""

    try:
        with database.session() as db:
            agree_on_throttle_store(db, SystemClock(), throttle_store(settings.redis_url))
    except ThrottleStoreMismatch as mismatch:
        typer.echo(
            f"refusing to start: instances on this database keep their throttle counters "
            f"(failed logins, second-factor guesses) in {mismatch.recorded}, but this one "
            f"is configured for {mismatch.configured} (MAMORI_REDIS_URL). Each would count "
            f"only its own failures, and every limit would double. Give every instance the "
            f"same MAMORI_REDIS_URL; to move all of them to another store, stop them all "
            f"and run `mamori throttle-store --switch` with the new setting.",
            err=True,
        )
        raise typer.Exit(1) from None


@app.command("throttle-store")
def throttle_store_command(
    switch: Annotated[
        bool, typer.Option("--switch", help="Record this configuration's store (audited)")
    ] = False,
) -> None:
    """Where failure counters live: the one recorded for this database, and this
    configuration's. Every instance must use the recorded one, or it refuses to start."""

    settings = Settings()
    configured = throttle_store(settings.redis_url)
    database = prepare_storage(settings)
    clock = SystemClock()
    with database.session() as db:
        if switch:
            before = switch_throttle_store(db, clock, configured)
            record_event(
                db,
                clock,
                "throttle_store.switched",
                Origin.operator(),
                before=before,
                after=configured,
            )
            typer.echo(f"throttle store: {configured} (was {before or 'not recorded'})")
            return
        fact = db.get(DeploymentFact, THROTTLE_STORE)
    typer.echo(f"recorded: {fact.value if fact else 'not yet (the first start records it)'}")
    typer.echo(f"this configuration: {configured}")


@app.command()
def migrate() -> None:
    """Apply database migrations (serve does this too)."""
    prepare_storage(Settings())
    typer.echo("database is up to date")


@users.command("list")
def list_users(limit: int = 50) -> None:

    database = prepare_storage(Settings())
    with database.session() as db:
        for user in db.scalars(select(User).order_by(User.id).limit(limit)):
            state = "disabled" if user.disabled_at else "active"
            typer.echo(f"{user.id}\t{safe_text(user.username)}\t{state}")


@users.command("show")
def show_user(username: str) -> None:
    """What an operator may see of an account: never a password, code or secret."""
    database = prepare_storage(Settings())
    with database.session() as db:
        user = accounts.find_by_username(db, username)
        if user is None:
            typer.echo(f"no account named '{safe_text(username)}'", err=True)
            raise typer.Exit(1)
        facts = {
            "id": user.id,
            "username": user.username,
            "email": user.email,
            "email_confirmed": user.email_confirmed_at is not None,
            "phone": user.phone,
            "phone_confirmed": user.phone_confirmed_at is not None,
            "created_at": user.created_at.isoformat(),
            "disabled": user.disabled_at is not None,
        }
        # Whether backup codes exist and how many remain; never the codes themselves.
        left = remaining_codes(db, user.id)
        facts["backup_codes"] = "none" if left is None else f"yes, {left} remaining"
        for key, value in facts.items():
            typer.echo(f"{key}: {safe_text(value)}")


@users.command("disable")
def disable_user(username: str) -> None:
    """Disable an account and end all of its sessions."""

    database = prepare_storage(Settings())
    clock = SystemClock()
    with database.session() as db:
        user = accounts.find_by_username(db, username)
        if user is None:
            typer.echo(f"no account named '{safe_text(username)}'", err=True)
            raise typer.Exit(1)
        user.disabled_at = clock.now()
        end_other_sessions(db, clock, Origin.operator(), user.id, keep=None)
        record_event(db, clock, "account.disabled", Origin.operator(), user_id=user.id)
    typer.echo(f"{safe_text(username)} disabled; all sessions ended")


@users.command("enable")
def enable_user(username: str) -> None:

    database = prepare_storage(Settings())
    with database.session() as db:
        user = accounts.find_by_username(db, username)
        if user is None:
            typer.echo(f"no account named '{safe_text(username)}'", err=True)
            raise typer.Exit(1)
        user.disabled_at = None
        record_event(db, SystemClock(), "account.enabled", Origin.operator(), user_id=user.id)
    typer.echo(f"{safe_text(username)} enabled")


@app.command()
def audit(
    user: Annotated[str | None, typer.Option(help="Only this username's events")] = None,
    event: Annotated[str | None, typer.Option(help="Only this event, e.g. login.succeeded")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line")] = False,
) -> None:
    """Read the security event log, newest first."""
    database = prepare_storage(Settings())
    with database.session() as db:
        user_id = None
        if user is not None:
            found = accounts.find_by_username(db, user)
            if found is None:
                typer.echo(f"no account named '{safe_text(user)}'", err=True)
                raise typer.Exit(1)
            user_id = found.id
        for entry in recent_events(db, user_id=user_id, event=event, limit=limit):
            row = {
                "at": entry.at.isoformat(),
                "event": entry.event,
                "outcome": entry.outcome,
                "user_id": entry.user_id,
                "ip": entry.ip,
                "user_agent": entry.user_agent,
                "details": entry.details,
            }
            if as_json:
                typer.echo(safe_json(row))
            else:
                typer.echo(
                    f"{row['at']}  {entry.event:<28} {entry.outcome:<8} "
                    f"user={entry.user_id} ip={safe_text(entry.ip)} {safe_json(entry.details)}"
                )


class MessageStatus(StrEnum):
    pending = "pending"
    sending = "sending"
    sent = "sent"
    failed = "failed"
    outbox = "outbox"


def _message_facts(message: OutboxMessage) -> dict[str, object]:
    """What an operator may see of a message: never its body (a code's is blanked anyway)."""
    return {
        "id": message.id,
        "created_at": message.created_at.isoformat(),
        "status": message.status,
        "channel": message.channel,
        "kind": message.kind,
        "template": message.template,
        "to": message.to,
        "subject": message.subject,
        "attempts": message.attempts,
        "next_attempt_at": message.next_attempt_at.isoformat() if message.next_attempt_at else None,
        "sent_at": message.sent_at.isoformat() if message.sent_at else None,
        "provider_ref": message.provider_ref,
        "last_error": message.last_error,
        "user_id": message.user_id,
    }


@outbox.command("list")
def list_messages(
    status: Annotated[MessageStatus | None, typer.Option(help="Only messages in this state")] = (
        None
    ),
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line")] = False,
) -> None:
    """The newest messages and where each stands; `--status failed` for what did not arrive."""

    database = prepare_storage(Settings())
    with database.session() as db:
        for message in messages(db, status=status.value if status else None, limit=limit):
            facts = _message_facts(message)
            if as_json:
                typer.echo(safe_json(facts))
                continue
            error = f"  last error: {safe_text(message.last_error)}" if message.last_error else ""
            typer.echo(
                f"{message.id}\t{facts['created_at']}\t{message.status}\t{message.channel}\t"
                f"{message.template or message.kind}\tattempts={message.attempts}\t"
                f"{safe_text(message.to)}\t{safe_text(message.subject)}{error}"
            )


@outbox.command("show")
def show_message(message_id: Annotated[int, typer.Argument(metavar="ID")]) -> None:
    """One message: recipient, subject, state, attempts and last error. Never a code."""

    database = prepare_storage(Settings())
    with database.session() as db:
        message = db.get(OutboxMessage, message_id)
        if message is None:
            typer.echo(f"no message with id {message_id}", err=True)
            raise typer.Exit(1)
        for key, value in _message_facts(message).items():
            typer.echo(f"{key}: {'' if value is None else safe_text(value)}")


@outbox.command("retry")
def retry_message(message_id: Annotated[int, typer.Argument(metavar="ID")]) -> None:
    """Queue a failed message again with a fresh set of attempts (audited)."""

    settings = Settings()
    database = prepare_storage(settings)
    try:
        with database.session() as db:
            requeue(db, SystemClock(), message_id)
    except MessageNotFound:
        typer.echo(f"no message with id {message_id}", err=True)
        raise typer.Exit(1) from None
    except NotRetryable as refusal:
        typer.echo(safe_text(refusal.message()), err=True)
        raise typer.Exit(1) from None
    when = (
        "the server's delivery worker sends it shortly"
        if settings.delivery_worker
        else "run `mamori outbox deliver` to send it"
    )
    typer.echo(f"message {message_id} is pending again; {when}")


@outbox.command("deliver")
def deliver_messages(
    limit: Annotated[int, typer.Option(min=1, max=10000, help="At most this many")] = 100,
) -> None:
    """Send what is due now, once (for cron, when MAMORI_DELIVERY_WORKER=false); apps are
    first told of sessions that ended (back-channel logout), and what OpenID Connect no
    longer needs is deleted."""

    ctx = context_from_environment(Settings())
    try:
        queue_backchannel_logouts(ctx, limit)
        forget_expired(ctx)
        counts = deliver_pending(ctx, limit)
    finally:
        ctx.database.engine.dispose()
    typer.echo(
        f"sent {counts.sent}, retrying {counts.retrying}, failed {counts.failed}, "
        f"kept in the outbox {counts.kept}"
    )


def main() -> None:
    app()
