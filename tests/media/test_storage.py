"""Media storage: the data directory by default, an S3-compatible bucket when configured."""

from __future__ import annotations

import pytest

from portevoix.config import ConfigError, load


def test_media_stay_in_the_data_directory_by_default(tmp_path):
    assert load({"PORTEVOIX_DATA_DIR": str(tmp_path)}).s3 is None


def test_an_s3_bucket_with_private_signed_objects(tmp_path):
    config = load(
        {
            "PORTEVOIX_DATA_DIR": str(tmp_path),
            "PORTEVOIX_S3_BUCKET": "lumiere-media",
            "PORTEVOIX_S3_ENDPOINT_URL": "https://s3.fr-par.example",
            "PORTEVOIX_S3_REGION": "fr-par",
            "PORTEVOIX_S3_ACCESS_KEY_ID": "AKIA",
            "PORTEVOIX_S3_SECRET_ACCESS_KEY": "secret-value",
        }
    )
    assert config.s3 is not None and "secret-value" not in repr(config.s3)
    storage = config.s3.storage()
    assert storage["BACKEND"] == "storages.backends.s3.S3Storage"
    assert storage["OPTIONS"] == {
        "bucket_name": "lumiere-media",
        "default_acl": None,
        "querystring_auth": True,
        "file_overwrite": False,
        "endpoint_url": "https://s3.fr-par.example",
        "region_name": "fr-par",
        "access_key": "AKIA",
        "secret_key": "secret-value",
    }


@pytest.mark.parametrize(
    "env",
    [
        {"PORTEVOIX_S3_ENDPOINT_URL": "https://s3.example"},
        {"PORTEVOIX_S3_BUCKET": "b", "PORTEVOIX_S3_ENDPOINT_URL": "s3.example"},
    ],
)
def test_a_half_configured_bucket_is_refused(tmp_path, env):
    with pytest.raises(ConfigError):
        load({"PORTEVOIX_DATA_DIR": str(tmp_path), **env})
