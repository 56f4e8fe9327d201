"""Typed configuration read from ``PORTEVOIX_*`` environment variables.

Every knob of the product is declared here, once. A variable whose name starts with
``PORTEVOIX_`` but is not declared is a typo and stops the process at start, so that a
misspelt setting never silently falls back to its default. Secrets may also be given as
``PORTEVOIX_<NAME>_FILE`` pointing at a file that holds the value (Docker/Kubernetes
secrets).
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

PREFIX = "PORTEVOIX_"


class ConfigError(Exception):
    """A configuration value is missing, malformed or unknown."""


@dataclass(frozen=True)
class Var:
    name: str
    help: str
    default: str | None = None
    secret: bool = False


VARIABLES: tuple[Var, ...] = (
    Var("MODE", "embedded (one machine, SQLite by default) or production", "embedded"),
    Var("DATA_DIR", "folder for the SQLite database, the generated secret key and media", "var"),
    Var("DATABASE_URL", "sqlite:///path or postgresql://user:pass@host:port/db", None),
    Var("SECRET_KEY", "Django secret key; required in production", None, secret=True),
    Var(
        "SECRET_KEY_FALLBACKS",
        "comma-separated former secret keys, still accepted after a rotation (sessions, signed "
        "links, access tokens, erased items' tombstones)",
        None,
        secret=True,
    ),
    Var("ENCRYPTION_KEYS", "comma-separated Fernet keys, newest first", None, secret=True),
    Var("DEBUG", "true to show debug pages (never in production)", "false"),
    Var("ALLOWED_HOSTS", "comma-separated host names", "localhost,127.0.0.1,[::1]"),
    Var("CSRF_TRUSTED_ORIGINS", "comma-separated origins behind a proxy", ""),
    Var(
        "TRUSTED_PROXIES",
        "comma-separated addresses or networks (10.0.0.0/8) of the reverse proxies whose "
        "X-Forwarded-For is believed",
        "",
    ),
    Var("BASE_URL", "public address used in e-mails (invitation links)", "http://localhost:8000"),
    Var(
        "EMAIL_URL",
        "smtp://user:pass@host:port?tls=true, file:PATH or console: (embedded default: files "
        "in DATA_DIR/mail; required in production, where console: is refused)",
        None,
    ),
    Var("EMAIL_PASSWORD", "SMTP password (when not in EMAIL_URL)", None, secret=True),
    Var("DEFAULT_FROM_EMAIL", "sender of e-mails", "Porte-voix <noreply@localhost>"),
    Var("TIME_ZONE", "default time zone", "Europe/Paris"),
    Var("LANGUAGE", "default language: fr or en", "fr"),
    Var("SECURE_COOKIES", "true behind HTTPS", "false"),
    Var("LOG_LEVEL", "DEBUG, INFO, WARNING, ERROR", "INFO"),
    Var(
        "ALLOW_PRIVATE_NETWORKS",
        "true to let channels reach servers on loopback or private addresses "
        "(default: true in embedded mode, false in production)",
        None,
    ),
    Var(
        "WEBHOOKS_ALLOW_LOOPBACK",
        "true to let webhooks and CRM integrations reach a receiver on loopback (127.0.0.1, "
        "::1); private, link-local and metadata addresses are always refused "
        "(default: true in embedded mode, false in production)",
        None,
    ),
    Var("S3_BUCKET", "store media in this S3-compatible bucket (default: DATA_DIR/media)", ""),
    Var("S3_ENDPOINT_URL", "the S3-compatible service's address (MinIO, Scaleway...)", ""),
    Var("S3_REGION", "the bucket's region", ""),
    Var("S3_ACCESS_KEY_ID", "access key for the bucket", ""),
    Var("S3_SECRET_ACCESS_KEY", "secret key for the bucket", None, secret=True),
    Var("META_APP_ID", "Meta app id, for Facebook Login (Facebook pages, Instagram)", ""),
    Var("META_APP_SECRET", "Meta app secret, for Facebook Login", None, secret=True),
    Var("META_GRAPH_URL", "Meta's Graph API address (tests point it at a fake)", ""),
    Var("META_DIALOG_URL", "Facebook Login dialog's address (tests point it at a fake)", ""),
    Var(
        "META_WEBHOOK_TOKEN",
        "verify token Meta's webhooks must present (Instagram mentions; empty: webhooks closed)",
        None,
        secret=True,
    ),
    Var("SKIP_BLUESKY", "tests only: skip tests that need the local Bluesky servers", "0"),
    Var(
        "YOUTUBE_API_KEY",
        "a Google API key for YouTube listening sources that use no connected channel",
        None,
        secret=True,
    ),
    Var(
        "YOUTUBE_LISTENING_UNITS",
        "YouTube quota units a listening source may spend a day (a search costs 100)",
        "2000",
    ),
)
KNOWN = {v.name for v in VARIABLES}


def _truthy(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{PREFIX}{name} must be true or false, not {raw!r}")


@dataclass(frozen=True)
class EmailConfig:
    backend: str
    host: str = ""
    port: int = 25
    user: str = ""
    password: str = ""
    use_tls: bool = False
    use_ssl: bool = False
    file_path: str = ""


@dataclass(frozen=True)
class S3Config:
    bucket: str
    endpoint_url: str = ""
    region: str = ""
    access_key_id: str = ""
    secret_access_key: str = field(default="", repr=False)

    def storage(self) -> dict[str, object]:
        """The ``STORAGES["default"]`` entry: private objects, signed addresses."""
        options: dict[str, object] = {
            "bucket_name": self.bucket,
            "default_acl": None,
            "querystring_auth": True,
            "file_overwrite": False,
        }
        for key, value in (
            ("endpoint_url", self.endpoint_url),
            ("region_name", self.region),
            ("access_key", self.access_key_id),
            ("secret_key", self.secret_access_key),
        ):
            if value:
                options[key] = value
        return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}


@dataclass(frozen=True)
class Config:
    mode: str
    data_dir: Path
    database_url: str
    secret_key: str
    #: Former secret keys: what they signed or digested is still recognised.
    secret_key_fallbacks: tuple[str, ...]
    encryption_keys: tuple[str, ...]
    debug: bool
    allowed_hosts: tuple[str, ...]
    csrf_trusted_origins: tuple[str, ...]
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
    base_url: str
    email: EmailConfig
    default_from_email: str
    time_zone: str
    language: str
    secure_cookies: bool
    log_level: str
    #: Whether network modules may connect to loopback, private or link-local addresses.
    allow_private_networks: bool
    skip_bluesky: bool
    #: Whether webhooks and CRM integrations may reach a receiver on loopback.
    webhooks_allow_loopback: bool = False
    #: Facebook Login's app (id, secret) and Graph/dialog addresses; empty: the defaults.
    meta_app: tuple[str, str, str, str] = ("", "", "", "")
    #: Media in an S3-compatible bucket (django-storages) instead of the data directory.
    s3: S3Config | None = None
    sources: Mapping[str, str] = field(default_factory=dict)
    #: The verify token of Meta's webhooks (``/hooks/meta/``); empty: they are closed.
    meta_webhook_token: str = ""
    youtube_api_key: str = field(default="", repr=False)
    youtube_listening_units: int = 2000

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite:")


def _raw(env: Mapping[str, str], var: Var) -> str | None:
    direct = env.get(PREFIX + var.name)
    file_name = env.get(PREFIX + var.name + "_FILE") if var.secret else None
    if direct is not None and file_name is not None:
        raise ConfigError(f"set either {PREFIX}{var.name} or {PREFIX}{var.name}_FILE, not both")
    if file_name is not None:
        try:
            return Path(file_name).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{PREFIX}{var.name}_FILE: cannot read {file_name}: {exc}") from exc
    return direct if direct is not None else var.default


def check_unknown(env: Mapping[str, str]) -> None:
    allowed = set(KNOWN) | {v.name + "_FILE" for v in VARIABLES if v.secret}
    unknown = sorted(k for k in env if k.startswith(PREFIX) and k[len(PREFIX) :] not in allowed)
    if unknown:
        hint = ", ".join(sorted(PREFIX + n for n in KNOWN))
        raise ConfigError(f"unknown setting {', '.join(unknown)}; known settings are: {hint}")


def _parse_email(raw: str, env: Mapping[str, str]) -> EmailConfig:
    if raw == "console:":
        return EmailConfig(backend="django.core.mail.backends.console.EmailBackend")
    if raw.startswith("file:"):
        return EmailConfig(
            backend="django.core.mail.backends.filebased.EmailBackend",
            file_path=raw[len("file:") :],
        )
    if raw == "memory:":
        return EmailConfig(backend="django.core.mail.backends.locmem.EmailBackend")
    url = urlparse(raw)
    if url.scheme not in {"smtp", "smtps"} or not url.hostname:
        raise ConfigError(
            f"{PREFIX}EMAIL_URL must be console:, file:PATH or smtp://user:pass@host:port, "
            f"not {raw!r}"
        )
    query = parse_qs(url.query)
    password = unquote(url.password or "") or (_raw(env, _var("EMAIL_PASSWORD")) or "")
    return EmailConfig(
        backend="django.core.mail.backends.smtp.EmailBackend",
        host=url.hostname,
        port=url.port or (465 if url.scheme == "smtps" else 587),
        user=unquote(url.username or ""),
        password=password,
        use_tls=_truthy("EMAIL_URL tls", query.get("tls", ["false"])[0]),
        use_ssl=url.scheme == "smtps",
    )


def _networks(values: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value, strict=False))
        except ValueError as exc:
            raise ConfigError(
                f"{PREFIX}TRUSTED_PROXIES: {value!r} is not an IP address or network "
                "(examples: 10.0.0.7, 10.0.0.0/8, fd00::/8)"
            ) from exc
    return tuple(networks)


def _email(mode: str, data_dir: Path, raw: str | None, env: Mapping[str, str]) -> EmailConfig:
    """Where e-mail goes. Production never prints it: invitation links would land in logs."""
    if mode != "production":
        return _parse_email(raw or f"file:{data_dir / 'mail'}", env)
    if not raw:
        raise ConfigError(
            f"{PREFIX}EMAIL_URL is required in production: smtp://user:pass@host:587?tls=true "
            f"to send e-mail, or file:/path to write each message to a file (invitation links "
            f"must not end up in the logs)"
        )
    if raw.strip() in {"console:", "memory:"}:
        raise ConfigError(
            f"{PREFIX}EMAIL_URL={raw} is refused in production: it would print invitation "
            f"and password-reset links into the logs (use smtp://... or file:/path)"
        )
    return _parse_email(raw, env)


def _var(name: str) -> Var:
    return next(v for v in VARIABLES if v.name == name)


PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def _private(path: Path, mode: int) -> None:
    """chmod a path of ours; one that belongs to another user is the operator's to manage."""
    try:
        if path.stat().st_uid == os.getuid():
            path.chmod(mode)
    except FileNotFoundError:
        pass


def prepare_data_dir(config: Config) -> None:
    """Make the data directory private to the user that runs Porte-voix.

    It holds the database (with session keys), the generated secrets, e-mail with invitation
    links, and media. The directory and its sub-directories are 0700, its files 0600: the
    process's umask becomes 077 so that every file written later (SQLite's WAL, each e-mail,
    uploads, collected static files) is private too, and what an older version left readable
    is closed at start (the data directory itself and the files and folders directly in it).
    """
    os.umask(0o077)
    data_dir = config.data_dir
    data_dir.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    _private(data_dir, PRIVATE_DIR)
    if config.is_sqlite:
        import dj_database_url

        name = str(dj_database_url.parse(config.database_url).get("NAME") or "")
        database = Path(name)
        if name not in {"", ":memory:"} and database.parent.is_dir():
            # SQLite gives its -wal and -shm files the database file's mode.
            with contextlib.suppress(FileExistsError):
                os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
            for suffix in ("", "-wal", "-shm", "-journal"):
                _private(database.with_name(database.name + suffix), PRIVATE_FILE)
    for entry in data_dir.iterdir():
        if entry.is_symlink():
            continue
        _private(entry, PRIVATE_DIR if entry.is_dir() else PRIVATE_FILE)


def _secret_key(data_dir: Path, mode: str, given: str | None) -> str:
    if given:
        if len(given) < 32:
            raise ConfigError(f"{PREFIX}SECRET_KEY must be at least 32 characters long")
        return given
    if mode == "production":
        raise ConfigError(
            f"{PREFIX}SECRET_KEY (or {PREFIX}SECRET_KEY_FILE) is required in production"
        )
    path = data_dir / "secret_key"
    if not path.exists():
        data_dir.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
    return path.read_text(encoding="utf-8").strip()


def _encryption_keys(data_dir: Path, mode: str, given: str | None) -> tuple[str, ...]:
    if given:
        keys = tuple(k.strip() for k in given.split(",") if k.strip())
    elif mode == "production":
        raise ConfigError(f"{PREFIX}ENCRYPTION_KEYS is required in production")
    else:
        from cryptography.fernet import Fernet

        path = data_dir / "encryption_keys"
        if not path.exists():
            data_dir.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(Fernet.generate_key().decode())
        keys = tuple(k.strip() for k in path.read_text().split(",") if k.strip())
    from cryptography.fernet import Fernet

    for index, key in enumerate(keys):
        try:
            Fernet(key)
        except (ValueError, TypeError) as exc:
            raise ConfigError(
                f"{PREFIX}ENCRYPTION_KEYS: key #{index + 1} is not a valid Fernet key"
            ) from exc
    return keys


def _s3(values: Mapping[str, str | None]) -> S3Config | None:
    bucket = (values["S3_BUCKET"] or "").strip()
    if not bucket:
        others = [n for n in ("S3_ENDPOINT_URL", "S3_ACCESS_KEY_ID") if values[n]]
        if others:
            raise ConfigError(f"{PREFIX}{others[0]} is set but {PREFIX}S3_BUCKET is not")
        return None
    endpoint = (values["S3_ENDPOINT_URL"] or "").strip()
    if endpoint and urlparse(endpoint).scheme not in {"http", "https"}:
        raise ConfigError(f"{PREFIX}S3_ENDPOINT_URL must start with https:// (or http://)")
    return S3Config(
        bucket=bucket,
        endpoint_url=endpoint,
        region=(values["S3_REGION"] or "").strip(),
        access_key_id=(values["S3_ACCESS_KEY_ID"] or "").strip(),
        secret_access_key=values["S3_SECRET_ACCESS_KEY"] or "",
    )


def load(env: Mapping[str, str] | None = None, *, base_dir: Path | None = None) -> Config:
    env = os.environ if env is None else env
    check_unknown(env)
    values = {v.name: _raw(env, v) for v in VARIABLES}

    mode = (values["MODE"] or "embedded").strip().lower()
    if mode not in {"embedded", "production"}:
        raise ConfigError(f"{PREFIX}MODE must be embedded or production, not {mode!r}")

    data_dir = Path(values["DATA_DIR"] or "var")
    if not data_dir.is_absolute():
        data_dir = (base_dir or Path.cwd()) / data_dir

    database_url = values["DATABASE_URL"] or f"sqlite:///{data_dir / 'portevoix.sqlite3'}"
    scheme = urlparse(database_url).scheme
    if scheme not in {"sqlite", "postgres", "postgresql", "pgsql"}:
        raise ConfigError(
            f"{PREFIX}DATABASE_URL must start with sqlite:/// or postgresql://, not {scheme!r}"
        )

    language = (values["LANGUAGE"] or "fr").lower()
    if language not in {"fr", "en"}:
        raise ConfigError(f"{PREFIX}LANGUAGE must be fr or en, not {language!r}")

    time_zone = values["TIME_ZONE"] or "Europe/Paris"
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(time_zone)
    except Exception as exc:
        raise ConfigError(f"{PREFIX}TIME_ZONE: unknown time zone {time_zone!r}") from exc

    log_level = (values["LOG_LEVEL"] or "INFO").upper()
    if log_level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ConfigError(f"{PREFIX}LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR")

    def split(name: str) -> tuple[str, ...]:
        return tuple(p.strip() for p in (values[name] or "").split(",") if p.strip())

    return Config(
        mode=mode,
        data_dir=data_dir,
        database_url=database_url,
        secret_key=_secret_key(data_dir, mode, values["SECRET_KEY"]),
        secret_key_fallbacks=split("SECRET_KEY_FALLBACKS"),
        encryption_keys=_encryption_keys(data_dir, mode, values["ENCRYPTION_KEYS"]),
        debug=_truthy("DEBUG", values["DEBUG"] or "false"),
        allowed_hosts=split("ALLOWED_HOSTS"),
        csrf_trusted_origins=split("CSRF_TRUSTED_ORIGINS"),
        trusted_proxies=_networks(split("TRUSTED_PROXIES")),
        base_url=(values["BASE_URL"] or "").rstrip("/"),
        email=_email(mode, data_dir, values["EMAIL_URL"], env),
        default_from_email=values["DEFAULT_FROM_EMAIL"] or "",
        time_zone=time_zone,
        language=language,
        secure_cookies=_truthy("SECURE_COOKIES", values["SECURE_COOKIES"] or "false"),
        log_level=log_level,
        allow_private_networks=_truthy(
            "ALLOW_PRIVATE_NETWORKS",
            values["ALLOW_PRIVATE_NETWORKS"] or ("false" if mode == "production" else "true"),
        ),
        skip_bluesky=_truthy("SKIP_BLUESKY", values["SKIP_BLUESKY"] or "0"),
        webhooks_allow_loopback=_truthy(
            "WEBHOOKS_ALLOW_LOOPBACK",
            values["WEBHOOKS_ALLOW_LOOPBACK"] or ("false" if mode == "production" else "true"),
        ),
        s3=_s3(values),
        meta_app=(
            (values["META_APP_ID"] or "").strip(),
            (values["META_APP_SECRET"] or "").strip(),
            (values["META_GRAPH_URL"] or "").strip(),
            (values["META_DIALOG_URL"] or "").strip(),
        ),
        sources={k: v for k, v in env.items() if k.startswith(PREFIX)},
        meta_webhook_token=(values["META_WEBHOOK_TOKEN"] or "").strip(),
        youtube_api_key=(values["YOUTUBE_API_KEY"] or "").strip(),
        youtube_listening_units=_units(values["YOUTUBE_LISTENING_UNITS"] or "2000"),
    )


def _units(raw: str) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(
            f"{PREFIX}YOUTUBE_LISTENING_UNITS must be a number, not {raw!r}"
        ) from None
    if value < 100:
        raise ConfigError(f"{PREFIX}YOUTUBE_LISTENING_UNITS must be at least 100 (one search)")
    return value
