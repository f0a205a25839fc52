"""The env file manage.py reads and completes (ops/envfile.py): a file it cannot read is one
clear error, and filling the missing secrets keeps every other line as the services read it."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ops.envfile import EnvFileError, fill_missing_secrets, read_env_file

SECRETS = ("ADMIN_API_TOKEN", "SERVICE_API_TOKEN", "LLM_MODEL_DECRYPT_KEY", "POSTGRES_PASSWORD")


def test_an_env_file_that_is_not_text_or_not_a_file_is_named_in_one_error(tmp_path: Path) -> None:
    latin = tmp_path / "latin.env"
    latin.write_bytes(b"DEFAULT_TIMEZONE=Europe/Z\xfcrich\n")
    with pytest.raises(EnvFileError, match=f"cannot read env file {latin}: .*utf-8"):
        read_env_file(latin)
    folder = tmp_path / "folder.env"
    folder.mkdir()
    with pytest.raises(EnvFileError, match=f"cannot read env file {folder}: "):
        read_env_file(folder)
    assert read_env_file(tmp_path / "missing.env") == {}


def test_an_exported_empty_secret_is_filled_on_its_own_line(tmp_path: Path) -> None:
    target = tmp_path / ".env"
    target.write_text("export ADMIN_API_TOKEN=\n# ADMIN_API_TOKEN is the admin's\nLOG_LEVEL=INFO")
    filled = fill_missing_secrets(target)
    assert "ADMIN_API_TOKEN" in filled and "LOG_LEVEL" not in filled
    lines = target.read_text().splitlines()
    assert lines[0].startswith("ADMIN_API_TOKEN=") and lines[1:3] == [
        "# ADMIN_API_TOKEN is the admin's",
        "LOG_LEVEL=INFO",
    ]  # the added secrets come after the last line, not glued to it
    assert sum(line.startswith("ADMIN_API_TOKEN=") for line in lines) == 1
    assert oct(target.stat().st_mode)[-3:] == "600"


#: Setting names: never one of the secrets (they start with X_).
NAMES = st.text(string.ascii_uppercase + string.digits + "_", max_size=12).map(lambda n: f"X_{n}")
VALUES = st.text(string.ascii_letters + string.digits + "/:.@-_", max_size=30)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    others=st.dictionaries(NAMES, VALUES, max_size=6),
    given_secrets=st.dictionaries(st.sampled_from(SECRETS), st.sampled_from(["", "kept-value"])),
)
def test_filling_secrets_keeps_every_other_value_and_every_given_secret(
    tmp_path: Path, others: dict[str, str], given_secrets: dict[str, str]
) -> None:
    target = tmp_path / "p.env"
    target.write_text("".join(f"{k}={v}\n" for k, v in {**others, **given_secrets}.items()))
    filled = fill_missing_secrets(target)
    values = read_env_file(target)
    assert {k: values[k] for k in others} == others
    for name in SECRETS:
        if given_secrets.get(name):
            assert values[name] == "kept-value" and name not in filled
        else:
            assert name in filled and len(values[name]) >= 32
