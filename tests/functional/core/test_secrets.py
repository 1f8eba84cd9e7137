"""Secrets come from SSM Parameter Store at cold start, never from config.json."""
import os

import pytest

from chalicelib.core.settings import MissingSecret, get_settings, reset_settings


@pytest.fixture
def ssm_path(aws, monkeypatch):
    ssm = aws("ssm")  # before the path is set: making it reads the settings
    monkeypatch.setenv("HAT_SECRETS_SSM_PATH", "/hat/dev/")
    for name in ("HAT_SECRET_KEY", "TWILIO_AUTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    reset_settings()
    yield ssm
    for name in ("HAT_SECRET_KEY", "TWILIO_AUTH_TOKEN"):
        os.environ.pop(name, None)
    reset_settings()


def test_secure_parameters_become_settings(ssm_path):
    ssm_path.put_parameter(Name="/hat/dev/HAT_SECRET_KEY", Value="k" * 40, Type="SecureString")
    ssm_path.put_parameter(Name="/hat/dev/TWILIO_AUTH_TOKEN", Value="tw-token", Type="SecureString")
    ssm_path.put_parameter(Name="/hat/prod/HAT_SECRET_KEY", Value="not ours", Type="SecureString")
    assert get_settings().secret_key == "k" * 40
    assert os.environ["TWILIO_AUTH_TOKEN"] == "tw-token"


def test_a_stage_reading_ssm_refuses_to_start_without_the_key(ssm_path):
    with pytest.raises(MissingSecret, match="HAT_SECRET_KEY"):
        get_settings()
