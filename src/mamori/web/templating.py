"""Page rendering: Jinja2 with the request's language, the CSRF token and the viewer."""

import functools
import secrets
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.routing import BaseRoute

from mamori.core.crypto import same_secret
from mamori.core.errors import MamoriError, NotAuthenticated, ReauthenticationRequired
from mamori.core.i18n import (
    LOCALES,
    default_zone,
    format_moment,
    format_phone,
    known_zone,
    negotiate,
    translator,
)
from mamori.web import limits

PACKAGE = Path(__file__).resolve().parent.parent
LANG_COOKIE = "mamori_lang"
# The browser's time zone, written by static/mamori.js: not a secret, read as a hint only.
ZONE_COOKIE = "mamori_tz"


class CsrfFailed(MamoriError):
    code, status, title = "csrf_failed", 403, "This form expired; reload the page and try again"


def template_dirs() -> list[Path]:
    """Every feature keeps its pages in its own templates/ folder."""
    return [PACKAGE / "web" / "templates", *sorted(PACKAGE.glob("*/templates"))]


@functools.cache
def make_environment() -> Environment:
    """One per process: the templates are the package's own files and nothing is added to
    the environment per app, so every app built in a process (each test builds its own)
    shares the compiled templates instead of compiling them again."""
    env = Environment(
        loader=FileSystemLoader([str(d) for d in dict.fromkeys(template_dirs())]),
        autoescape=select_autoescape(["html", "xml"]),
        auto_reload=False,
    )
    return env


LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


def is_https(request: Request) -> bool:
    """Cookies are Secure everywhere but on plain-HTTP localhost (development).

    Behind a TLS-terminating proxy mamori itself sees http, but the public host
    name is not local, so the cookie is still Secure.
    """
    return request.url.scheme == "https" or request.url.hostname not in LOCAL_HOSTS


def cookie_name(request: Request, name: str) -> str:
    # __Host- needs Secure, which plain-HTTP localhost cannot have.
    return f"__Host-{name}" if is_https(request) else name


def request_locale(request: Request) -> str:
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in LOCALES:
        return str(chosen)
    default = request.app.state.ctx.settings.default_locale
    return negotiate(request.headers.get("accept-language"), default)


def browser_zone(request: Request) -> str | None:
    return known_zone(unquote(request.cookies.get(ZONE_COOKIE, ""))[:64])


def viewer_zone(request: Request, locale: str) -> str:
    """The logged-in person's own zone (set on request.state by their route's dependency),
    else the browser's, else the usual one for the page's language."""
    own = known_zone(getattr(request.state, "time_zone", None))
    return own or browser_zone(request) or default_zone(locale)


def csrf_token(request: Request) -> str:
    token = request.cookies.get(cookie_name(request, "mamori_csrf"))
    if not token or len(token) != 43:
        token = getattr(request.state, "new_csrf", None) or secrets.token_urlsafe(32)
        request.state.new_csrf = token
    return token


def check_csrf(request: Request, csrf_token: str = Form("", max_length=limits.MAX_TOKEN)) -> None:
    """Double-submit: the form's token must equal the cookie's (both from this browser)."""
    cookie = request.cookies.get(cookie_name(request, "mamori_csrf"), "")
    if not cookie or not csrf_token or not same_secret(cookie, csrf_token):
        raise CsrfFailed()


# What a required field left empty says, by the field's name (gettext ids), the same from
# the browser's own check (ui.html's data-missing) and from the server (web/errors.py);
# any other field says FILL_IN, one too long TOO_LONG.
MISSING = {
    "login": "Enter your username, e-mail or phone number.",
    "password": "Enter your password.",
    "current_password": "Enter your password.",
    "new_password": "Enter a new password.",
    "code": "Enter the code.",
    "username": "Enter a username.",
    "email": "Enter an e-mail address.",
    "contact_email": "Enter an e-mail address.",
    "address": "Fill in this field.",
    "phone": "Enter a phone number.",
    "what_happened": "Tell us what happened.",
}
FILL_IN = "Fill in this field."
TOO_LONG = "This is too long: at most %(max)s characters."


def missing_text(_: Callable[..., str], name: str) -> str:
    return _(MISSING.get(name, FILL_IN))


def render(request: Request, template: str, status_code: int = 200, **values: Any) -> HTMLResponse:
    locale = request_locale(request)
    zone = viewer_zone(request, locale)
    environment: Environment = request.app.state.templates
    page = environment.get_template(template)
    state = request.state
    _ = translator(locale)
    html = page.render(
        request=request,
        _=_,
        missing_text=lambda name: missing_text(_, name),
        lang=locale,
        csrf_token=csrf_token(request),
        when=lambda moment: format_moment(moment, locale, zone),
        phone_number=format_phone,
        path_for=lambda name, **params: page_path(request, name, **params),
        **{
            # The form's fields report their own errors (templates/ui.html).
            "field_errors": getattr(state, "field_errors", {}),
            "form_values": getattr(state, "form_values", {}),
            # A named error a page route did not catch (web/errors.py shows the form again).
            "error": getattr(state, "page_error", None),
            "error_fields": getattr(state, "page_error_fields", ()),
            "placed": [],
            **values,
        },
    )
    response = HTMLResponse(html, status_code=status_code)
    response.headers["cache-control"] = "no-store"
    new_token = getattr(request.state, "new_csrf", None)
    if new_token:
        response.set_cookie(
            cookie_name(request, "mamori_csrf"),
            new_token,
            httponly=True,
            secure=is_https(request),
            samesite="lax",
            path="/",
        )
    return response


def render_with_error(
    request: Request, template: str, error: MamoriError, **values: Any
) -> HTMLResponse:
    """The same page again, with what went wrong next to the form, in the person's
    language; nothing they typed is lost when `values` carries it back.

    Being logged out or having to confirm it's you is not a mistake in the form: those
    go on to their one handler (web/errors.py), which sends the browser there and back."""
    if isinstance(error, NotAuthenticated | ReauthenticationRequired):
        raise error
    return render(
        request,
        template,
        status_code=error.status,
        error=error_text(request, error),
        error_fields=fields_of(error),
        **values,
    )


# Which field an error is about, by its code: the first of these names on the page shows
# the message beside itself (templates/ui.html); a page without any shows it at the top.
ERROR_FIELDS: dict[str, tuple[str, ...]] = {
    "invalid_code": ("code",),
    "code_already_used": ("code",),
    "clock_out_of_sync": ("code",),
    "code_expired": ("code",),
    "invalid_credentials": ("password", "current_password"),
    "weak_password": ("new_password", "password"),
    "password_reused": ("new_password", "password"),
    "username_taken": ("username",),
    "username_reserved": ("username",),
    "invalid_username": ("username",),
    "invalid_email": ("email", "address", "contact_email"),
    "invalid_phone": ("phone", "address"),
    "address_in_use": ("address", "email", "phone"),
    "unknown_time_zone": ("time_zone",),
    "invalid_login": ("login",),
    "invalid_description": ("what_happened",),
    "too_many_files": ("evidence",),
    "evidence_too_large": ("evidence",),
    "evidence_type_not_allowed": ("evidence",),
    "invalid_evidence": ("evidence",),
    "invalid_note": ("note", "reason"),
    "trusted_contact_code_expired": ("code",),
    **dict.fromkeys(
        (
            "too_few_trusted_contacts",
            "too_many_trusted_contacts",
            "duplicate_username",
            "unknown_username",
            "cannot_choose_yourself",
            "contact_declined",
        ),
        ("username",),
    ),
}
# A password refused for what it is ("password_too_short", "password_too_common", …).
PASSWORD_FIELDS = ("new_password", "password")


def fields_of(error: MamoriError) -> tuple[str, ...]:
    if error.code in ERROR_FIELDS:
        return ERROR_FIELDS[error.code]
    return PASSWORD_FIELDS if error.code.startswith(("password_too", "password_invalid")) else ()


def pages_by_name(routers: Iterable[APIRouter]) -> dict[str, BaseRoute]:
    """Every page route by its name (the function's name), checked to be one page's."""
    pages: dict[str, BaseRoute] = {}
    for router in routers:
        for route in router.routes:
            name = getattr(route, "name", "")
            if name in pages:
                raise ValueError(f"two pages are named {name!r}; rename one of the functions")
            pages[name] = route
    return pages


def page_path(request: Request, name: str, **path: object) -> str:
    """The path of a page by its route name: templates and redirects never spell one."""
    route: BaseRoute = request.app.state.pages[name]
    return str(route.url_path_for(name, **path))


def redirect_to(
    request: Request, route: str, *, query: Mapping[str, str] | None = None, **path: object
) -> RedirectResponse:
    """303 to a page by its route name (the function's name), never a literal path."""
    target = page_path(request, route, **path)
    if query:
        target += "?" + urlencode(query, safe="/")
    return RedirectResponse(target, status_code=303)


def safe_next(target: str | None) -> str:
    """Only a local path: never an open redirect to another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    if any(ord(ch) < 0x20 for ch in target):
        return "/"
    return target


def error_text(request: Request, error: MamoriError) -> str:
    """The message for a page, in the viewer's language."""
    _ = translator(request_locale(request))
    settings = request.app.state.ctx.settings
    values = {
        "min": settings.password_min_length,
        "max": settings.password_max_length,
        **error.values,
    }
    text = _(error.detail)
    retry = error.extra.get("retry_after")
    if retry:
        text += " " + _("Try again in %(minutes)s min.", minutes=max(1, -(-int(retry) // 60)))
    try:
        return text % values if "%(" in text else text
    except (KeyError, ValueError):
        return text
