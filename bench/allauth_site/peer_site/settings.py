"""django-allauth (headless "app" client + mfa) configured for production, for the peer bench.

Everything that differs between runs comes from PEER_* environment variables set by
bench/peer.py: the database kind (SQLite file or a PostgreSQL database), the cache
(Redis), and argon2id's parameters, which are read from mamori's own hasher so both
servers do the same hashing work per login.
"""

from __future__ import annotations

import os

SECRET_KEY = os.environ["PEER_SECRET_KEY"]
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "peer_site.urls"
WSGI_APPLICATION = "peer_site.wsgi.application"
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.headless",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

AUTHENTICATION_BACKENDS = ["allauth.account.auth_backends.AuthenticationBackend"]

if os.environ.get("PEER_DB_KIND", "sqlite") == "postgresql":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ["PEER_PG_NAME"],
            "USER": os.environ.get("PEER_PG_USER", "postgres"),
            "HOST": os.environ.get("PEER_PG_HOST", "127.0.0.1"),
            "PORT": os.environ.get("PEER_PG_PORT", "5432"),
            # Persistent connections (Django's deployment checklist), checked before reuse.
            "CONN_MAX_AGE": 600,
            "CONN_HEALTH_CHECKS": True,
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ["PEER_SQLITE_PATH"],
            # Django's advice for SQLite under concurrent writers (the same pragmas mamori uses).
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 10,
                "init_command": (
                    "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;PRAGMA busy_timeout=10000;"
                ),
            },
            "CONN_MAX_AGE": 600,
        }
    }

# allauth's rate limits and TOTP replay markers live in the cache: with two gunicorn
# workers it has to be a shared one (allauth's docs), so Redis, as Django recommends.
# Without Redis (PEER_CACHE=db, as mamori keeps its counters in its database then): the
# database cache, shared too.
if os.environ.get("PEER_CACHE") == "db":
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "peer_cache",
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ.get("PEER_REDIS_URL", "redis://127.0.0.1:6379/12"),
            "KEY_PREFIX": os.environ.get("PEER_CACHE_PREFIX", "peer"),
        }
    }
SESSION_ENGINE = os.environ.get("PEER_SESSION_ENGINE", "django.contrib.sessions.backends.db")

PASSWORD_HASHERS = ["peer_site.hashers.MamoriArgon2PasswordHasher"]

# allauth: username + password accounts, headless API for apps only, MFA with TOTP and
# recovery codes. TOTP accepts ±1 time step, as mamori does.
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "password1*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
HEADLESS_ONLY = True
HEADLESS_CLIENTS = ("app",)
HEADLESS_FRONTEND_URLS = {
    "account_confirm_email": "http://127.0.0.1/account/verify-email/{key}",
    "account_reset_password_from_key": "http://127.0.0.1/account/password/reset/key/{key}",
    "account_signup": "http://127.0.0.1/account/signup",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_TOLERANCE = 1
MFA_RECOVERY_CODE_COUNT = 10
MFA_RECOVERY_CODE_DIGITS = 8
# allauth's per-IP limits assume one client per IP; the bench's load comes from one
# address (127.0.0.1), so only the per-IP amounts are raised (mamori counts only failures
# per IP). The per-account limits stay at allauth's defaults, and the counting work stays.
ACCOUNT_RATE_LIMITS = {
    "login": "1000000/m/ip",
    "login_failed": "1000000/m/ip,5/300s/key",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
