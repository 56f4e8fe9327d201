"""Django settings: everything comes from :mod:`portevoix.config` (``PORTEVOIX_*``)."""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from portevoix import config as _config

BASE_DIR = Path(__file__).resolve().parent
CONFIG = _config.load(base_dir=Path.cwd())

SECRET_KEY = CONFIG.secret_key
SECRET_KEY_FALLBACKS = list(CONFIG.secret_key_fallbacks)
DEBUG = CONFIG.debug
ALLOWED_HOSTS = list(CONFIG.allowed_hosts)
CSRF_TRUSTED_ORIGINS = list(CONFIG.csrf_trusted_origins)
#: Reverse proxies whose X-Forwarded-For is believed (portevoix.core.middleware.client_ip).
PORTEVOIX_TRUSTED_PROXIES = CONFIG.trusted_proxies
PORTEVOIX_BASE_URL = CONFIG.base_url
PORTEVOIX_ENCRYPTION_KEYS = CONFIG.encryption_keys
PORTEVOIX_DATA_DIR = CONFIG.data_dir
#: Channels may reach servers on loopback/private addresses (set in networks.http at start).
PORTEVOIX_ALLOW_PRIVATE_NETWORKS = CONFIG.allow_private_networks
#: Webhooks and CRM integrations may reach a receiver on loopback (portevoix.api.outbound).
PORTEVOIX_WEBHOOKS_ALLOW_LOOPBACK = CONFIG.webhooks_allow_loopback
# Facebook Login (Facebook pages, Instagram): app id, app secret, Graph and dialog addresses.
PORTEVOIX_META_APP = CONFIG.meta_app
#: The verify token of Meta's webhooks (Instagram mentions, /hooks/meta/); empty: closed.
PORTEVOIX_META_WEBHOOK_TOKEN = CONFIG.meta_webhook_token
PORTEVOIX_YOUTUBE_API_KEY = CONFIG.youtube_api_key
PORTEVOIX_YOUTUBE_LISTENING_UNITS = CONFIG.youtube_listening_units

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",
    "django_htmx",
    "portevoix.core",
    "portevoix.worker",
    "portevoix.notifications",
    "portevoix.channels",
    "portevoix.media",
    "portevoix.publishing",
    "portevoix.inbox",
    "portevoix.care",
    "portevoix.strategy",
    "portevoix.crisis",
    "portevoix.triage",
    "portevoix.sandbox",
    "portevoix.reports",
    "portevoix.analytics",
    "portevoix.api",
    "portevoix.listening",
    "portevoix.roi",
    "portevoix.training",
    "portevoix.privacy",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "portevoix.core.middleware.OriginMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "allauth.usersessions.middleware.UserSessionsMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "portevoix.core.middleware.ActiveMemberMiddleware",
    "portevoix.core.middleware.StaffTwoFactorMiddleware",
    # Too large is 413, unread: before any view, and before the CSRF check (in process_view)
    # reads the form; after the person and their language are known, so that the page has the
    # navigation and speaks their language.
    "portevoix.core.errors.BodySizeLimitMiddleware",
    "portevoix.core.errors.RefusalMiddleware",
]
CSRF_FAILURE_VIEW = "portevoix.core.errors.csrf_failure"

ROOT_URLCONF = "portevoix.urls"
WSGI_APPLICATION = "portevoix.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portevoix.core.context_processors.shell",
                "portevoix.core.context_processors.demo",
                "portevoix.publishing.approvals.context_processors.editorial",
            ],
        },
    },
]

# The data directory and everything in it are private to the user running Porte-voix:
# directories 0700, files 0600 (a umask of 077 for this process, see config.prepare_data_dir).
_config.prepare_data_dir(CONFIG)
FILE_UPLOAD_PERMISSIONS = _config.PRIVATE_FILE
FILE_UPLOAD_DIRECTORY_PERMISSIONS = _config.PRIVATE_DIR

DATABASES = {"default": dj_database_url.parse(CONFIG.database_url, conn_max_age=60)}
if CONFIG.is_sqlite:
    # Django's backend, with this process's threads queueing for the write lock (core/sqlite).
    DATABASES["default"]["ENGINE"] = "portevoix.core.sqlite"
    # Tests on SQLite use Django's shared in-memory database, as with the stock engine name.
    DATABASES["default"]["TEST"] = {"NAME": ":memory:"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers work while the worker writes; IMMEDIATE transactions take the
        # write lock at BEGIN so that claiming work never deadlocks on lock upgrade.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
            "PRAGMA busy_timeout=20000;"
        ),
    }
else:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "portevoix_cache",
    }
}

AUTH_USER_MODEL = "core.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]

LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_ADAPTER = "portevoix.core.adapters.AccountAdapter"
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_PREVENT_ENUMERATION = True
# Login throttling: at most 5 failed attempts per address per 5 minutes, and 20 per IP.
ACCOUNT_RATE_LIMITS = {
    "login_failed": "20/5m/ip,5/5m/key",
    "login": "30/m/ip",
    "reset_password": "5/m/ip,3/m/key",
}
MFA_ADAPTER = "portevoix.core.adapters.MFAAdapter"  # secrets encrypted at rest
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Porte-voix"
# A code read in the last seconds of its 30-second window still works when it arrives in the
# next one (RFC 6238 §5.2 allows one step for transmission delay); a used code is refused.
MFA_TOTP_TOLERANCE = 1
USERSESSIONS_TRACK_ACTIVITY = True

LANGUAGE_CODE = CONFIG.language
LANGUAGES = [("fr", _("French")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
#: English dates day first and times on 24 hours, like the French ones (``formats/en``).
FORMAT_MODULE_PATH = ["portevoix.formats"]
USE_I18N = True
TIME_ZONE = CONFIG.time_zone
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = CONFIG.data_dir / "static"
STATIC_ROOT.mkdir(mode=_config.PRIVATE_DIR, parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES: dict[str, dict[str, object]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
if CONFIG.s3 is not None:
    # Several machines serve the media: an S3-compatible bucket (pip install portevoix[s3]).
    STORAGES["default"] = CONFIG.s3.storage()
MEDIA_ROOT = CONFIG.data_dir / "media"
MEDIA_URL = "/media/"

# Request sizes, chosen rather than inherited. One uploaded image may weigh up to
# PORTEVOIX_MAX_UPLOAD_BYTES (Mastodon accepts 16 MB images; Bluesky 1 MB, checked per network
# before saving); a whole request at most that plus 1 MiB of form fields, refused with 413
# from its Content-Length before it is read (core.errors.BodySizeLimitMiddleware). Form fields
# alone stay under 2.5 MiB in memory; an uploaded file over 2.5 MiB is spooled to a temporary
# file while the request is parsed.
PORTEVOIX_MAX_UPLOAD_BYTES = 20 * 1024 * 1024
PORTEVOIX_MAX_REQUEST_BYTES = PORTEVOIX_MAX_UPLOAD_BYTES + 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000
DATA_UPLOAD_MAX_NUMBER_FILES = 10

_mail_options: dict[str, object] = {}
if CONFIG.email.file_path:
    _mail_options["file_path"] = CONFIG.email.file_path
elif CONFIG.email.host:
    _mail_options.update(
        host=CONFIG.email.host,
        port=CONFIG.email.port,
        username=CONFIG.email.user,
        password=CONFIG.email.password,
        use_tls=CONFIG.email.use_tls,
        use_ssl=CONFIG.email.use_ssl,
        timeout=20,
    )
MAILERS = {"default": {"BACKEND": CONFIG.email.backend, "OPTIONS": _mail_options}}
DEFAULT_FROM_EMAIL = CONFIG.default_from_email

if CONFIG.secure_cookies:
    # Behind the load balancer that terminates TLS and says so.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = CONFIG.secure_cookies
CSRF_COOKIE_SECURE = CONFIG.secure_cookies
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # A refusal (4xx) is one line with its reason, not a traceback; invitation tokens, OAuth
    # codes and access tokens in URLs are masked (core/logs.py).
    "filters": {
        "one_line_refusals": {"()": "portevoix.core.logs.OneLineRefusals"},
        "secrets": {"()": "portevoix.core.logs.MaskSecrets"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["one_line_refusals", "secrets"],
        }
    },
    "root": {"handlers": ["console"], "level": CONFIG.log_level},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # WeasyPrint narrates every step of every PDF at INFO.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
        "django.request": {"filters": ["one_line_refusals"]},
    },
}
