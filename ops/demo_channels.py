"""The demo's people in WhatsApp and Slack: the terminal says something there (`/whatsapp
TEXT`, `/slack TEXT`) through the platforms' stand-ins, which deliver signed webhooks to the
channels service as the platforms do, and prints what the secretary answered there."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from sandbox import slack_events
from sandbox import whatsapp_api as wa
from sandbox.slack_api import SlackStandIn
from sandbox.whatsapp_api import WhatsAppStandIn

#: Who the terminal is in WhatsApp and in Slack.
WHATSAPP_NUMBER = "4915112345678"
SLACK_USER, SLACK_DM = "U0DEMOUSER", "D0DEMOCHAT"
#: After the first answer, how long to wait for more (a long answer in several messages).
SETTLE_S = 0.5

Run = Callable[[Awaitable[Any]], Any]


def _answers(shown: Callable[[], list[str]], before: int, timeout: float) -> list[str]:
    """What was shown past the first `before`, once the first has come and more stop coming."""
    deadline = time.monotonic() + timeout
    while len(shown()) == before and time.monotonic() < deadline:
        time.sleep(0.05)
    seen = len(shown())
    while time.monotonic() < deadline:
        time.sleep(SETTLE_S)
        if len(shown()) == seen:
            break
        seen = len(shown())
    return shown()[before:]


class WhatsAppUser:
    def __init__(self, api: WhatsAppStandIn, run: Run) -> None:
        self.api = api
        self._run = run

    def _shown(self) -> list[str]:
        return [m.text for m in self.api.sent_to(WHATSAPP_NUMBER)]

    def say(self, text: str, timeout: float) -> list[str]:
        before = len(self._shown())
        self._run(self.api.deliver(self.api.message(WHATSAPP_NUMBER, "You", wa.text(text))))
        return _answers(self._shown, before, timeout)


class SlackUser:
    def __init__(self, api: SlackStandIn, run: Run, events_url: str) -> None:
        self.api = api
        self._run = run
        self._url = events_url

    def _shown(self) -> list[str]:
        return ["\n".join(p.sections) for p in self.api.posted_to(SLACK_DM)]

    def say(self, text: str, timeout: float) -> list[str]:
        before = len(self._shown())
        event = slack_events.direct_message(SLACK_USER, SLACK_DM, text)
        self._run(self.api.deliver_event(self._url, slack_events.envelope(event)))
        return _answers(self._shown, before, timeout)
