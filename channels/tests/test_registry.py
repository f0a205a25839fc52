"""Which channels are on: a channel is on only when every setting it needs is set and an
adapter is written for it; otherwise `/health` says why it is off. A channel whose start fails
is failed, and the others run on."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
import redis.asyncio as aioredis
from hypothesis import given, settings
from hypothesis import strategies as st

from channels.src.adapters.base import HOSTED, REQUIRED_SETTINGS, Adapter, AdapterContext
from channels.src.adapters.registry import AdapterRegistry
from channels.src.intake import Intake
from channels.src.settings import Settings
from common.infrastructure.channels import Channel
from common.infrastructure.errors import Undeliverable
from common.infrastructure.queue_messages import OutgoingMessage
from common.infrastructure.redis_keys import Names
from common.infrastructure.rest_client import RestClient
from tests.tiers import examples

EVERY_REQUIRED = sorted({name for names in REQUIRED_SETTINGS.values() for name in names})


def _settings(**values: Any) -> Settings:
    return Settings(_env_file=None, environment="test", **values)


def _context(settings: Settings) -> AdapterContext:
    # A client that is never used: these tests call no adapter that talks to Redis.
    redis, names = aioredis.Redis(), Names("unused:")
    rest = RestClient("http://127.0.0.1:9", "unused")
    return AdapterContext(settings, redis, names, Intake(rest, redis, names), rest)


class Stub(Adapter):
    """An adapter that notes it was started and stopped; `fails`: its start raises."""

    fails: ClassVar[bool] = False
    started: ClassVar[bool] = False
    stopped: ClassVar[bool] = False

    async def start(self) -> None:
        if self.fails:
            raise ConnectionError("imap.example.org refused")
        type(self).started = True

    async def stop(self) -> None:
        type(self).stopped = True

    async def send(self, message: OutgoingMessage) -> None:
        """Not called here."""


def _adapter(channel: Channel, *, fails: bool = False) -> type[Stub]:
    """A Stub class of its own for `channel` (its started/stopped marks its own)."""
    return type("Stub", (Stub,), {"channel": channel, "fails": fails})


WEB_ON = {"web_chat_secret": "s" * 32}
SLACK_ON = {"slack_bot_token": "xoxb-1", "slack_signing_secret": "signing"}


def test_with_nothing_set_every_channel_is_off_naming_its_settings() -> None:
    registry = AdapterRegistry(_context(_settings()), {})
    assert registry.states() == {
        "whatsapp": {
            "state": "off",
            "reason": "WHATSAPP_TOKEN, WHATSAPP_PHONE_NUMBER_ID, WHATSAPP_APP_SECRET, "
            "WHATSAPP_VERIFY_TOKEN are not set",
        },
        "slack": {"state": "off", "reason": "SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET are not set"},
        "email": {
            "state": "off",
            "reason": "EMAIL_IMAP_URL, EMAIL_SMTP_URL, EMAIL_FROM are not set",
        },
        "web": {"state": "off", "reason": "WEB_CHAT_SECRET is not set"},
        # the public API needs no setting: with no adapter given, it is not built
        "api": {"state": "off", "reason": "configured, but the api adapter is not built yet"},
    }
    assert registry.routers() == [] and registry.failed == []


def test_the_public_api_is_on_by_default_and_off_by_its_switch() -> None:
    assert AdapterRegistry(_context(_settings())).states()["api"] == {"state": "on"}
    off = AdapterRegistry(_context(_settings(api_enabled=False))).states()["api"]
    assert off == {"state": "off", "reason": "API_ENABLED is false"}


def test_a_setting_of_blanks_is_not_set() -> None:
    registry = AdapterRegistry(_context(_settings(web_chat_secret="   ")), {})
    assert registry.states()["web"] == {"state": "off", "reason": "WEB_CHAT_SECRET is not set"}


def test_a_configured_channel_without_an_adapter_says_it_is_not_built_yet() -> None:
    registry = AdapterRegistry(_context(_settings(**SLACK_ON)), {})
    assert registry.states()["slack"] == {
        "state": "off",
        "reason": "configured, but the slack adapter is not built yet",
    }


def test_an_adapter_may_ask_more_than_the_settings_it_needs() -> None:
    class Picky(Stub):
        channel = Channel.SLACK

        @classmethod
        def configured(cls, settings: Settings) -> bool:
            return False

    registry = AdapterRegistry(_context(_settings(**SLACK_ON)), {Channel.SLACK: Picky})
    assert registry.states()["slack"] == {
        "state": "off",
        "reason": "the slack settings are incomplete",
    }


async def test_a_configured_channel_with_an_adapter_is_on_started_and_stopped() -> None:
    web = _adapter(Channel.WEB)
    registry = AdapterRegistry(_context(_settings(**WEB_ON)), {Channel.WEB: web})
    assert registry.states()["web"] == {"state": "on"}
    await registry.start()
    assert web.started and isinstance(registry.sender_of("web"), web)
    await registry.stop(1.0)
    assert web.stopped


async def test_a_channel_whose_start_fails_is_failed_and_the_others_run_on() -> None:
    web, slack = _adapter(Channel.WEB), _adapter(Channel.SLACK, fails=True)
    context = _context(_settings(**WEB_ON, **SLACK_ON))
    registry = AdapterRegistry(context, {Channel.WEB: web, Channel.SLACK: slack})
    await registry.start()
    assert registry.states()["slack"] == {
        "state": "failed",
        "reason": "ConnectionError: imap.example.org refused",
    }
    assert registry.failed == ["slack"]
    assert registry.states()["web"] == {"state": "on"}
    with pytest.raises(Undeliverable, match="the slack channel is failed: ConnectionError"):
        registry.sender_of("slack")
    await registry.stop(1.0)


async def test_an_adapter_whose_stop_fails_does_not_keep_the_others_running() -> None:
    class Stubborn(Stub):
        channel = Channel.SLACK

        async def stop(self) -> None:
            raise RuntimeError("stuck")

    web = _adapter(Channel.WEB)
    context = _context(_settings(**WEB_ON, **SLACK_ON))
    registry = AdapterRegistry(context, {Channel.SLACK: Stubborn, Channel.WEB: web})
    await registry.start()
    await registry.stop(1.0)
    assert web.stopped


@pytest.mark.parametrize(
    ("channel", "why"),
    [
        ("web", "the web channel is off: WEB_CHAT_SECRET is not set"),
        ("telegram", "the telegram channel is not served here"),
        ("", "no channel ''"),
        ("fax", "no channel 'fax'"),
    ],
)
def test_an_answer_with_no_running_adapter_is_undeliverable_saying_why(
    channel: str, why: str
) -> None:
    registry = AdapterRegistry(_context(_settings()), {})
    with pytest.raises(Undeliverable) as raised:
        registry.sender_of(channel)
    assert str(raised.value) == why


@settings(max_examples=examples(200), deadline=None)
@given(
    given_values=st.dictionaries(
        st.sampled_from(EVERY_REQUIRED), st.text(max_size=20), max_size=len(EVERY_REQUIRED)
    )
)
def test_a_channel_is_on_exactly_when_all_its_settings_are_set(
    given_values: dict[str, str],
) -> None:
    """Any settings: a channel is on iff each of its own is set (not blank), and when it is
    off the reason names exactly the ones that are not."""
    adapters = {channel: _adapter(channel) for channel in HOSTED}
    registry = AdapterRegistry(_context(_settings(**given_values)), adapters)
    for channel, state in registry.states().items():
        needed = REQUIRED_SETTINGS[Channel(channel)]
        missing = [n.upper() for n in needed if not given_values.get(n, "").strip()]
        if not missing:
            assert state == {"state": "on"}
        else:
            assert state["state"] == "off"
            assert state["reason"].startswith(", ".join(missing) + " ")


def test_the_channels_secrets_never_show_in_the_settings_repr() -> None:
    secret = "sekrit-" + "x" * 30
    shown = repr(
        _settings(
            whatsapp_token=secret, whatsapp_app_secret=secret, whatsapp_verify_token=secret,
            slack_bot_token=secret, slack_signing_secret=secret, email_imap_url=secret,
            email_smtp_url=secret, web_chat_secret=secret,
        )
    )  # fmt: skip
    assert secret not in shown
