"""Settings come from PORTEVOIX_* variables; a typo stops the process with a clear message."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from portevoix import config
from portevoix.config import ConfigError


def load(tmp_path: Path, **env: str) -> config.Config:
    return config.load({f"PORTEVOIX_{k}": v for k, v in env.items()}, base_dir=tmp_path)


def test_embedded_defaults(tmp_path: Path) -> None:
    cfg = load(tmp_path)
    assert cfg.mode == "embedded"
    assert cfg.database_url == f"sqlite:///{tmp_path / 'var' / 'portevoix.sqlite3'}"
    assert cfg.time_zone == "Europe/Paris" and cfg.language == "fr"
    # The secret key is generated once and kept.
    assert (tmp_path / "var" / "secret_key").read_text().strip() == cfg.secret_key
    assert load(tmp_path).secret_key == cfg.secret_key
    assert (tmp_path / "var" / "secret_key").stat().st_mode & 0o077 == 0
    assert cfg.email.backend.endswith("filebased.EmailBackend")


def test_a_typo_fails_loudly(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="PORTEVOIX_DATABSE_URL"):
        load(tmp_path, DATABSE_URL="sqlite:///x")


def test_production_requires_secrets(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load(tmp_path, MODE="production")
    with pytest.raises(ConfigError, match="at least 32"):
        load(tmp_path, SECRET_KEY="short")


def test_secret_from_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("s" * 40 + "\n")
    from cryptography.fernet import Fernet

    cfg = load(
        tmp_path,
        MODE="production",
        SECRET_KEY_FILE=str(secret),
        ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        EMAIL_URL="smtp://mail.example.org:587?tls=true",
    )
    assert cfg.secret_key == "s" * 40
    with pytest.raises(ConfigError, match="either"):
        load(tmp_path, SECRET_KEY="s" * 40, SECRET_KEY_FILE=str(secret))
    with pytest.raises(ConfigError, match="cannot read"):
        load(tmp_path, SECRET_KEY_FILE=str(tmp_path / "missing"))


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DATABASE_URL", "mysql://x", "sqlite:/// or postgresql://"),
        ("LANGUAGE", "de", "fr or en"),
        ("TIME_ZONE", "Mars/Olympus", "unknown time zone"),
        ("DEBUG", "maybe", "true or false"),
        ("MODE", "cloud", "embedded or production"),
        ("EMAIL_URL", "pigeon://", "EMAIL_URL"),
        ("ENCRYPTION_KEYS", "not-a-key", "not a valid Fernet key"),
    ],
)
def test_bad_values_are_refused(tmp_path: Path, name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load(tmp_path, **{name: value})


def test_smtp_url(tmp_path: Path) -> None:
    cfg = load(tmp_path, EMAIL_URL="smtp://bot%40x.fr:p%40ss@mail.x.fr:2525?tls=true")
    assert (cfg.email.host, cfg.email.port, cfg.email.user) == ("mail.x.fr", 2525, "bot@x.fr")
    assert cfg.email.password == "p@ss" and cfg.email.use_tls


def test_cli_reports_a_typo_and_exits_2(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "portevoix.cli", "migrate"],
        env={"PORTEVOIX_DATA_DIR": str(tmp_path), "PORTEVOIX_LANGAGE": "en", "PATH": "/usr/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "unknown setting PORTEVOIX_LANGAGE" in result.stderr


def test_private_networks_are_allowed_in_embedded_mode_only_by_default(tmp_path: Path) -> None:
    from cryptography.fernet import Fernet

    production = {
        "MODE": "production",
        "SECRET_KEY": "s" * 40,
        "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "EMAIL_URL": "smtp://mail.example.org:587?tls=true",  # required in production
    }
    assert load(tmp_path).allow_private_networks is True
    assert load(tmp_path, **production).allow_private_networks is False
    assert load(tmp_path, **production, ALLOW_PRIVATE_NETWORKS="true").allow_private_networks
    assert not load(tmp_path, ALLOW_PRIVATE_NETWORKS="false").allow_private_networks
    with pytest.raises(ConfigError, match="ALLOW_PRIVATE_NETWORKS"):
        load(tmp_path, ALLOW_PRIVATE_NETWORKS="maybe")


def test_the_setting_reaches_the_network_modules_as_a_switch(settings) -> None:
    from portevoix.networks import http

    assert http.private_networks_allowed() is settings.PORTEVOIX_ALLOW_PRIVATE_NETWORKS
