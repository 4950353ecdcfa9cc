"""`mamori clients …` (the apps that sign people in through mamori) and `mamori keys rotate`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session

from mamori.audit.service import Origin
from mamori.bootstrap import context_from_environment
from mamori.context import Context
from mamori.core.errors import MamoriError
from mamori.core.terminal import safe_json, safe_text
from mamori.oidc import clients as service
from mamori.oidc.keys import ensure_signing_keys, rotate_keys
from mamori.oidc.models import OidcClient
from mamori.settings import Settings

clients = typer.Typer(
    help="Apps that sign people in through mamori (OpenID Connect).", no_args_is_help=True
)
keys = typer.Typer(help="The keys that sign ID and access tokens.", no_args_is_help=True)
ORIGIN = Origin.operator()


@contextmanager
def _unit_of_work() -> Iterator[tuple[Session, Context]]:
    ctx = context_from_environment(Settings())
    try:
        with ctx.database.session() as db:
            yield db, ctx
    except MamoriError as error:
        typer.echo(f"error: {error.code}: {error.message()}", err=True)
        raise typer.Exit(1) from error


def _described(client: OidcClient) -> dict[str, Any]:
    return {
        "client_id": client.client_id,
        "name": client.name,
        "public": client.public,
        "first_party": client.first_party,
        "redirect_uris": client.redirect_uri_list,
        "backchannel_logout_uri": client.backchannel_logout_uri,
        "created_at": client.created_at.isoformat(),
        "disabled_at": client.disabled_at.isoformat() if client.disabled_at else None,
    }


@clients.command("create")
def create(
    name: Annotated[str, typer.Argument(help="The app's name, as people see it")],
    redirect_uri: Annotated[
        list[str], typer.Option("--redirect-uri", help="Where the app receives the code")
    ],
    public: Annotated[
        bool, typer.Option("--public", help="A mobile or single-page app: no secret, PKCE")
    ] = False,
    first_party: Annotated[
        bool, typer.Option("--first-party", help="One of your own apps: no consent page")
    ] = False,
    backchannel_logout_uri: Annotated[
        str | None, typer.Option(help="Where the app is told that a person logged out")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object")] = False,
) -> None:
    """Register an app. Its client_secret (none for --public) is shown this once."""
    with _unit_of_work() as (db, ctx):
        new = service.create_client(
            db,
            ctx,
            ORIGIN,
            name=name,
            redirect_uris=redirect_uri,
            public=public,
            first_party=first_party,
            backchannel_logout_uri=backchannel_logout_uri,
        )
        if as_json:
            typer.echo(safe_json({"client_id": new.client.client_id, "client_secret": new.secret}))
            return
        typer.echo(f"client_id:     {new.client.client_id}")
        if new.secret is not None:
            typer.echo(f"client_secret: {new.secret}")
            typer.echo("Keep the secret now: mamori keeps only its digest.")


@clients.command("list")
def list_clients(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line")] = False,
) -> None:
    """Every registered app, oldest first."""
    with _unit_of_work() as (db, _):
        for client in service.list_clients(db):
            row = _described(client)
            if as_json:
                typer.echo(safe_json(row))
                continue
            kind = "public" if client.public else "confidential"
            state = "disabled" if client.disabled_at else "active"
            typer.echo(f"{client.client_id}  {safe_text(client.name):<30} {kind:<12} {state}")


@clients.command("show")
def show(client_id: Annotated[str, typer.Argument(help="The app's client_id")]) -> None:
    """One app's settings (never its secret)."""
    with _unit_of_work() as (db, _):
        typer.echo(safe_json(_described(service.find_client(db, client_id))))


@clients.command("rotate-secret")
def rotate_secret(
    client_id: Annotated[str, typer.Argument(help="The app's client_id")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object")] = False,
) -> None:
    """A new client_secret, shown this once; the old one stops working at once."""
    with _unit_of_work() as (db, ctx):
        secret = service.rotate_secret(db, ctx, ORIGIN, client_id)
        if as_json:
            typer.echo(safe_json({"client_id": client_id, "client_secret": secret}))
        else:
            typer.echo(f"client_secret: {secret}")


@clients.command("disable")
def disable(client_id: Annotated[str, typer.Argument(help="The app's client_id")]) -> None:
    """The app can no longer sign anyone in; its tokens stop working."""
    with _unit_of_work() as (db, ctx):
        client = service.disable_client(db, ctx, ORIGIN, client_id)
        typer.echo(f"{client.client_id} disabled")


@keys.command("rotate")
def rotate() -> None:
    """The next signing key (already published) starts signing; the old one stays in the
    JWKS until the tokens it signed have expired."""
    with _unit_of_work() as (db, ctx):
        ensure_signing_keys(db, ctx.settings, ctx.keyring, ctx.clock)
        kid = rotate_keys(db, ctx, ORIGIN)
        typer.echo(f"now signing with {kid}")
