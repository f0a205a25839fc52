"""The environment a run of the services gets of its own: its database, its Redis key
prefix and fresh secrets. The test harness and the benchmarks both build it here, so the
two start services the same way."""

from __future__ import annotations

import uuid

import redis as syncredis

from common.infrastructure.crypto import generate_key


def fresh_secrets() -> dict[str, str]:
    """Tokens and a master key no other run shares."""
    return {
        "ADMIN_API_TOKEN": f"admin-{uuid.uuid4().hex}",
        "SERVICE_API_TOKEN": f"service-{uuid.uuid4().hex}",
        "LLM_MODEL_DECRYPT_KEY": generate_key(),
    }


def base_env(
    database_url: str,
    redis_url: str,
    key_prefix: str,
    secrets: dict[str, str],
    *,
    log_level: str = "DEBUG",
) -> dict[str, str]:
    """What every service of the run starts with: its database, its Redis prefix, JSON logs."""
    return {
        "ENVIRONMENT": "test",
        "ASYNC_DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "REDIS_KEY_PREFIX": key_prefix,
        "LOG_FORMAT": "json",
        "LOG_LEVEL": log_level,
        **secrets,
    }


def forget_prefix(redis_url: str, prefix: str) -> None:
    """Delete every key of a run (all its keys start with its prefix)."""
    client = syncredis.Redis.from_url(redis_url)
    try:
        for key in client.scan_iter(match=f"{prefix}*", count=1000):
            client.delete(key)
    finally:
        client.close()
