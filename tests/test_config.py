"""Settings.from_env: the documented defaults, and bad values refused at start with their name."""

from __future__ import annotations

from dataclasses import fields

import pytest

from colorseason.config import Settings

# Every whole-number setting, by its variable: a new one is covered without editing this list.
NUMBERS = [field.name.upper() for field in fields(Settings) if field.type == "int"]


def test_every_documented_number_is_covered() -> None:
    assert set(NUMBERS) >= {
        "MAX_UPLOAD_BYTES",
        "CLAIM_CHECK_TTL_SECONDS",
        "CLAIM_LEASE_SECONDS",
        "JOB_TTL_SECONDS",
        "LONG_POLL_MAX_HELD",
        "RESULT_RETENTION_DAYS",
        "INLINE_IMAGE_MAX_BYTES",
    }


def test_an_empty_environment_gives_the_documented_defaults() -> None:
    settings = Settings.from_env({})
    assert settings == Settings()
    assert settings.max_upload_bytes == 15 * 1024 * 1024 and settings.claim_lease_seconds == 10
    assert settings.redis_url is None and settings.cors_allow_origins == ()


def test_values_are_read_and_trimmed() -> None:
    settings = Settings.from_env(
        {
            "REDIS_URL": " redis://photos:6379/0 ",
            "MAX_UPLOAD_BYTES": " 1024 ",
            "JOB_TTL_SECONDS": "",  # blank: the default
            "CORS_ALLOW_ORIGINS": "https://a.example, ,https://b.example",
            "LOG_LEVEL": "debug",
        }
    )
    assert settings.redis_url == settings.jobs_redis_url == "redis://photos:6379/0"
    assert settings.max_upload_bytes == 1024 and settings.job_ttl_seconds == 86400
    assert settings.cors_allow_origins == ("https://a.example", "https://b.example")
    assert settings.log_level == "DEBUG"


@pytest.mark.parametrize("variable", NUMBERS)
@pytest.mark.parametrize("raw", ["lots", "1.5", "1e3", "12 MB", "0x10"])
def test_a_number_that_is_not_a_whole_number_is_refused(variable: str, raw: str) -> None:
    with pytest.raises(ValueError, match=f"^{variable} must be an integer, got '{raw}'$"):
        Settings.from_env({variable: raw})


@pytest.mark.parametrize("variable", NUMBERS)
def test_a_negative_number_is_refused(variable: str) -> None:
    with pytest.raises(ValueError, match=f"^{variable} must not be negative, got -1$"):
        Settings.from_env({variable: "-1"})


def test_a_lease_is_at_least_a_second() -> None:
    assert Settings.from_env({"CLAIM_LEASE_SECONDS": "0"}).claim_lease_seconds == 1


def test_a_store_url_is_given_or_its_variable_named_in_one_line() -> None:
    settings = Settings.from_env({"REDIS_URL": "redis://photos:6379/0"})
    assert settings.store_url("JOBS_REDIS_URL") == "redis://photos:6379/0"  # the fallback
    with pytest.raises(ValueError) as missing:
        settings.store_url("DATABASE_URL")
    assert str(missing.value) == (
        "DATABASE_URL must be set to the PostgreSQL for results "
        "(`colorseason up` starts one on this machine)"
    )
