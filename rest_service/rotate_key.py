"""`python -m rest_service.rotate_key` (`./manage.py rotate-key`): re-encrypt every secret
under the newest key of LLM_MODEL_DECRYPT_KEY; run again, it changes nothing."""

from __future__ import annotations

import asyncio
import sys

from common.infrastructure.crypto import SecretBox, SecretDecryptionError, is_valid_master_key
from common.infrastructure.settings import load_settings
from rest_service.app.domain.key_rotation import RotationCounts, rotate_secrets
from rest_service.app.domain.unit_of_work import unit_of_work
from rest_service.app.settings import Settings
from rest_service.app.state import AppState


async def rotate(settings: Settings) -> RotationCounts:
    state = AppState.create(settings)
    try:
        async with unit_of_work(state, "rotate_key") as ctx:
            return await rotate_secrets(ctx.session, SecretBox(settings.llm_model_decrypt_key))
    finally:
        await state.close()


def main() -> int:
    settings = load_settings(Settings)
    if not is_valid_master_key(settings.llm_model_decrypt_key):
        print("rotate-key: LLM_MODEL_DECRYPT_KEY is not set or not Fernet keys", file=sys.stderr)
        return 2
    try:
        counts = asyncio.run(rotate(settings))
    except SecretDecryptionError as exc:
        print(f"rotate-key: {exc}; nothing was changed", file=sys.stderr)
        return 1
    print(f"rotate-key: {counts.describe()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
