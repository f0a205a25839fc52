"""The demo's web chat visitor: the terminal says something in the channels service's web
chat (`/web TEXT`) and prints the answer, as a browser on `/chat` would show it."""

from __future__ import annotations

import html
import http.cookiejar
import json
import re
import time
import urllib.request
import uuid
from typing import Any


def answer_text(markup: str) -> str:
    """An answer's HTML as one line of text."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


class WebVisitor:
    """One visitor of `{channels}/chat`, holding its cookie and the last event it read."""

    def __init__(self, channels_url: str) -> None:
        self.url = f"{channels_url}/chat"
        jar = http.cookiejar.CookieJar()
        self._opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        self._last_event = "0-0"
        self._opened = False

    def say(self, text: str, timeout: float) -> list[str]:
        """The answers to `text` (and anything else new), as text, within `timeout`."""
        if not self._opened:
            self._opener.open(self.url, timeout=10).read()  # the page sets the cookie
            self._opened = True
        body = json.dumps({"text": text, "id": uuid.uuid4().hex}).encode()
        request = urllib.request.Request(
            f"{self.url}/messages", body, {"Content-Type": "application/json"}
        )
        self._opener.open(request, timeout=10).read()
        return self._answers(timeout)

    def _answers(self, timeout: float) -> list[str]:
        """Reads the event stream from the last event seen until an answer arrives."""
        deadline = time.monotonic() + timeout
        found: list[str] = []
        while not found and time.monotonic() < deadline:
            request = urllib.request.Request(
                f"{self.url}/events", headers={"Last-Event-ID": self._last_event}
            )
            with self._opener.open(request, timeout=max(1.0, deadline - time.monotonic())) as r:
                found = self._read(r)
        return found

    def _read(self, response: Any) -> list[str]:
        kind, answers = "", []
        for raw in response:
            line = raw.decode("utf-8").rstrip("\n")
            if line.startswith("id: "):
                self._last_event = line.removeprefix("id: ")
            elif line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: ") and kind == "answer":
                answers.append(answer_text(json.loads(line.removeprefix("data: "))["html"]))
            elif (line == "" and answers) or line.startswith(": "):
                return answers
        return answers
