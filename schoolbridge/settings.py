"""Settings, all driven by the environment (see README "Configuration").

DATABASE_URL   default: SQLite file under var/
REDIS_URL      optional: enables Redis for the channel layer, cache and Celery broker
SECRET_KEY     required in production (DEBUG off)
SCHOOLBRIDGE_FIELD_KEY  Fernet key for encrypted fields (national ID, health notes)
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent
VAR_DIR = Path(os.environ.get("SCHOOLBRIDGE_VAR", PROJECT_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and env_bool("SCHOOLBRIDGE_PRODUCTION"):
        raise RuntimeError("SECRET_KEY must be set in production")
    SECRET_KEY = "dev-insecure-schoolbridge-key-change-me"

ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "channels",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "schoolbridge.core",
    "schoolbridge.accounts",
    "schoolbridge.access",
    "schoolbridge.audit",
    "schoolbridge.notify",
    "schoolbridge.schoolcal",
    "schoolbridge.leave",
    "schoolbridge.attendance",
    "schoolbridge.grades",
    "schoolbridge.notices",
    "schoolbridge.conversations",
    "schoolbridge.timetable",
    "schoolbridge.imports",
    "schoolbridge.oneroster",
    "schoolbridge.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "schoolbridge.accounts.middleware.AdminTwoFactorMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "schoolbridge.urls"
ASGI_APPLICATION = "schoolbridge.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "schoolbridge.web.context.portal",
            ],
        },
    },
]

DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'schoolbridge.sqlite3'}"
# Under ASGI each request may run on a different thread, so persistent connections are off by default
# (Django's advice for async servers). On PostgreSQL each process keeps a psycopg connection pool instead
# (DB_POOL_MAX connections at most, 0 turns the pool off); a pooler such as PgBouncer can still sit in front.
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "0")))}
DB_POOL_MAX = int(os.environ.get("DB_POOL_MAX", "20"))
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and DB_POOL_MAX > 0:
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool, not Django, keeps connections open
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": DB_POOL_MAX,
        "timeout": 20,  # seconds a request waits for a free connection before failing
        "max_idle": 300,
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Django's SQLite backend, with a per-process pool of open connections (schoolbridge/db/sqlite3):
    # a new connection parses the schema again (~1 ms), and under ASGI each request is a new thread.
    DATABASES["default"]["ENGINE"] = "schoolbridge.db.sqlite3"
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    DATABASES["default"].setdefault("TEST", {})["NAME"] = str(VAR_DIR / "test.sqlite3")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # redis-py reads with a 5 s socket timeout by default: as long as the layer's blocking receive
            # (BZPOPMIN, 5 s), so an idle consumer's read can time out and its socket is dropped. Every
            # socket of one server process shares one Redis queue, so its capacity (default 100) is per
            # process: a burst of pushes to many users would silently drop messages beyond it.
            "CONFIG": {
                "hosts": [{"address": REDIS_URL, "socket_timeout": 30}],
                "prefix": os.environ.get("SCHOOLBRIDGE_CHANNEL_PREFIX", "sb"),
                "capacity": 10000,
            },
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("SCHOOLBRIDGE_CACHE_PREFIX", "sb"),
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "schoolbridge_cache",
        }
    }

# --- Celery: an embedded broker (kombu's filesystem transport) unless REDIS_URL is set.
CELERY_BROKER_DIR = VAR_DIR / "broker"
if REDIS_URL:
    CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL)
    CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
else:
    CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
    for sub in ("in", "processed", "control"):
        (CELERY_BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "in"),
        "data_folder_out": str(CELERY_BROKER_DIR / "in"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
    }
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "Asia/Shanghai"
CELERY_BEAT_SCHEDULE = {
    "leave-remind-overdue": {"task": "schoolbridge.leave.tasks.remind_overdue_leave", "schedule": 900.0},
    "conversations-deliver-deferred": {"task": "schoolbridge.conversations.tasks.deliver_deferred", "schedule": 60.0},
    "notices-send-due": {"task": "schoolbridge.notices.tasks.send_due_notices", "schedule": 60.0},
    "notices-sweep-reminders": {"task": "schoolbridge.notices.tasks.sweep_reminders", "schedule": 600.0},
    "attendance-absence-alerts": {"task": "schoolbridge.attendance.tasks.send_absence_alerts", "schedule": 180.0},
    "imports-sync-sources": {"task": "schoolbridge.imports.tasks.sync_sources", "schedule": 900.0},
}

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "schoolbridge.accounts.backends.PhoneOrUsernameBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Lockout after repeated failures (django-axes): per username+IP, 5 failures, 15 minutes.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_CALLABLE = "schoolbridge.accounts.backends.axes_username"  # "+86 139…" = "139…"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_VERBOSE = False
AXES_ENABLED = env_bool("AXES_ENABLED", True)

OTP_TOTP_ISSUER = "SchoolBridge"

# --- i18n: zh-Hans first, English second.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Asia/Shanghai"
USE_TZ = True
LANGUAGE_COOKIE_NAME = "sb_lang"

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# Uploaded files (leave attachments). Never served as public media: only through access-checked views.
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "/media/"

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = str(VAR_DIR / "mail")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "SchoolBridge <noreply@schoolbridge.local>")

# SMS gateway: "file" (writes to var/sms), "console" or a dotted path to a gateway class.
SCHOOLBRIDGE_SMS_BACKEND = os.environ.get("SCHOOLBRIDGE_SMS_BACKEND", "file")
SCHOOLBRIDGE_SMS_DIR = VAR_DIR / "sms"


def _field_key() -> bytes:
    key = os.environ.get("SCHOOLBRIDGE_FIELD_KEY", "")
    if key:
        return key.encode()
    # Development default: derived from SECRET_KEY so that a laptop run needs no setup.
    return base64.urlsafe_b64encode(hashlib.sha256(("field:" + SECRET_KEY).encode()).digest())


SCHOOLBRIDGE_FIELD_KEYS = [_field_key()]

# Django's database sessions; the per-request read is one fixed SQL statement (schoolbridge/db/sessions.py).
SESSION_ENGINE = "schoolbridge.db.sessions"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
