"""`./manage.py demo`: the whole stack with the outside world played by the sandbox stand-ins
(Telegram, the LLM, Google, Open-Meteo, WhatsApp, Slack), and the terminal as a Telegram chat
with the bot (and, by command, a web chat visitor, a WhatsApp and a Slack user).

The six services run as real processes, started as `up` starts them; only the URLs of the
outside world point at stand-ins served from this process. The demo keeps to its own
database, Redis key prefix and data folder, and starts from a clean slate each time, so it
never touches a real installation's data or `.env`.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg2
import redis
from psycopg2 import sql

from common.infrastructure.clock import utcnow
from common.infrastructure.crypto import generate_key
from common.infrastructure.settings import ENV_FILE_VARIABLE
from ops import infra
from ops.demo_channels import EmailUser, SlackUser, WhatsAppUser
from ops.demo_web import WebVisitor
from ops.infra import ALEMBIC_INI, Infra, port_answers, with_database
from ops.processes import Foreground, ServiceSpec, check_ports_free, peer_urls, specs
from ops.services import NAMES, ROOT
from sandbox import telegram_updates as tg
from sandbox.google_api import GoogleStandIn
from sandbox.google_state import DEFAULT_EMAIL
from sandbox.llm_server import LlmStandIn
from sandbox.mail_servers import MailServers, MailServersMissing, mail_servers
from sandbox.open_meteo import OpenMeteoStandIn
from sandbox.search_stand_in import SearchStandIn
from sandbox.slack_api import SlackStandIn
from sandbox.telegram_api import SentMessage, TelegramStandIn
from sandbox.whatsapp_api import WhatsAppStandIn

DEMO_DATABASE = "smart_assistant_demo"
DEMO_PREFIX = "demo:"
BOT_TOKEN = "424242:DEMO-token"
BOT_USERNAME = "smart_assistant_demo_bot"
YOU = tg.user(1001, "You", username="you")
MEMBER = tg.user(1002, "Bob", username="bob")
GROUP = tg.group_chat(-1001000, "Team")
#: All the demo's services take from the caller's environment: where programs are, the home
#: folder, the user and the locale (and `LC_*`). Every setting they get is the demo's own, so
#: nothing of a developer's shell (`REDIS_CLUSTER`, `REDIS_SENTINELS`, tokens) reaches them.
PASSED_THROUGH = frozenset({"PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR"})
HELP = """Demo commands (anything else goes to the bot as your Telegram message):
  /help              this list
  /click [N]         open link N from the bot's messages (default: the latest) in a
                     "browser"; the Google stand-in says yes on the consent screen, and
                     the demo answers the bot's question with /calendar confirm for you
  /group TEXT        Bob says TEXT in the group "Team", mentioning the bot
  /web TEXT          a visitor of the web chat (the channels service's /chat) says TEXT
  /whatsapp TEXT     you say TEXT in WhatsApp (the Cloud API's stand-in delivers it)
  /slack TEXT        you say TEXT in a Slack direct message (Slack's stand-in delivers it)
  /email TEXT        you mail TEXT to the secretary (private Dovecot and Postfix servers;
                     needs their Debian packages and root)
  /wait TEXT [SEC]   wait until a bot message containing TEXT arrives (for scripts)
  /quit              stop everything (so do Ctrl-C and Ctrl-D)
Try: what time is it in Tokyo | weather in Paris | remind me in 1 minute to stretch |
     what's on my calendar (then /click) | /group what's the weather in Berlin?
The bot's own commands work too: /start, /calendar, /reminders, /timezone Europe/Paris"""


#: The owner's answer to "Connect user@example.com to your assistant?" after a consent.
CONFIRM = "/calendar confirm"


class DemoError(RuntimeError):
    pass


def say(message: str) -> None:
    print(f"demo: {message}", file=sys.stderr, flush=True)


# -- the outside world ---------------------------------------------------------------------


class LoopThread:
    """An event loop on a thread of its own, for the stand-ins that serve from a loop."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def run(self, work: Any, timeout: float = 10) -> Any:
        """Run a coroutine, or a plain callable, on the loop and return its result."""
        if not asyncio.iscoroutine(work):
            func = work

            async def call() -> Any:
                return func()

            work = call()
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


class World:
    """Telegram, the LLM, Google, Open-Meteo and web search, served from this process."""

    def __init__(self) -> None:
        self.loop = LoopThread("demo-stand-ins")
        self.telegram = TelegramStandIn(BOT_TOKEN, bot_username=BOT_USERNAME)
        self.google = GoogleStandIn()
        self.llm = LlmStandIn(record=False)
        self.weather = OpenMeteoStandIn()
        self.search = SearchStandIn()
        self._started: list[Callable[[], None]] = []
        #: The web chat's visitor, once the channels service's URL is known, and the secret
        #: of its cookies (a fresh one each run, as its visitors are).
        self.web: WebVisitor | None = None
        self.web_chat_secret = uuid.uuid4().hex
        self.whatsapp_api = WhatsAppStandIn()
        self.slack_api = SlackStandIn(signing_secret=uuid.uuid4().hex)
        #: The person in WhatsApp and in Slack, once the channels service's URL is known.
        self.whatsapp: WhatsAppUser | None = None
        self.slack: SlackUser | None = None
        #: The mail servers and you in e-mail, where this machine can run them; else why not.
        self._mail_servers = contextlib.ExitStack()
        self.mail: MailServers | None = None
        self.email: EmailUser | None = None
        self.email_missing = ""

    def start(self) -> None:
        self.loop.run(self.telegram.start())
        self._started.append(lambda: self.loop.run(self.telegram.stop()))
        self.loop.run(self.google.start())
        self._started.append(lambda: self.loop.run(self.google.stop()))
        self.llm.start_in_thread()
        self._started.append(self.llm.stop_thread)
        self.weather.start_in_thread()
        self._started.append(self.weather.stop_thread)
        self.search.start_in_thread()
        self._started.append(self.search.stop_thread)
        for stand_in in (self.whatsapp_api, self.slack_api):
            stand_in.start_in_thread()
            self._started.append(stand_in.stop_thread)
        try:
            self.mail = self._mail_servers.enter_context(mail_servers())
        except (MailServersMissing, OSError, RuntimeError, TimeoutError) as exc:
            self.email_missing = str(exc)
        self._started.append(self._mail_servers.close)
        self._seed_calendar()

    def stop(self) -> None:
        for stop in reversed(self._started):
            with contextlib.suppress(Exception):
                stop()
        self.loop.stop()

    def _seed_calendar(self) -> None:
        """A few events, so the connected calendar has something to show."""
        now = utcnow().replace(minute=0, second=0, microsecond=0)
        events = [("Team stand-up", 2, 0.5), ("Lunch with Anna", 4, 1), ("Dentist", 26, 1)]
        self.google.state.seed(
            DEFAULT_EMAIL,
            [
                {
                    "summary": title,
                    "start": {"dateTime": (now + timedelta(hours=h)).isoformat()},
                    "end": {"dateTime": (now + timedelta(hours=h + length)).isoformat()},
                }
                for title, h, length in events
            ],
        )

    def env(self, calendar_url: str) -> dict[str, str]:
        return {
            "TELEGRAM_TOKEN": BOT_TOKEN,
            "TELEGRAM_API_BASE": self.telegram.url,
            "OPENAI_API_KEY": "sk-demo",
            "OPENAI_BASE_URL": self.llm.base_url,
            "DEFAULT_MODEL": "sandbox-default",
            "FALLBACK_MODEL": "sandbox-fallback",
            **self.google.settings(),
            "GOOGLE_REDIRECT_URI": f"{calendar_url}/auth/callback",
            "WEATHER_API_URL": self.weather.forecast_url,
            "GEOCODING_API_URL": self.weather.geocoding_url,
            "SEARXNG_URL": self.search.base_url,
            # The search stand-in's pages are on this machine: let read_page reach them only.
            "WEB_FETCH_ALLOW_HOSTS": self.search.host,
            # The transcript is lines, one per answer: a live answer growing by drafts and
            # edits is for a Telegram client to show (tests/test_live_answers.py proves it).
            "STREAM_ANSWERS": "false",
            # The web chat, WhatsApp and Slack are on (`/web`, `/whatsapp`, `/slack`).
            "WEB_CHAT_SECRET": self.web_chat_secret,
            **self.whatsapp_api.settings(),
            **self.slack_api.settings(),
            **(EmailUser.settings(self.mail) if self.mail else {}),
        }

    def meet(self, channels_url: str) -> None:
        """The people of the channels service's channels, now that its URL is known."""
        self.web = WebVisitor(channels_url)
        self.whatsapp_api.webhook_url = f"{channels_url}/whatsapp/webhook"
        self.whatsapp = WhatsAppUser(self.whatsapp_api, lambda c: self.loop.run(c, timeout=60))
        self.slack = SlackUser(
            self.slack_api, lambda c: self.loop.run(c, timeout=60), f"{channels_url}/slack/events"
        )
        self.email = EmailUser(self.mail) if self.mail else None

    def inject(self, update: dict[str, Any]) -> int | None:
        """Queue an update for the bot; returns the message's id in its chat."""

        def inject() -> int | None:
            update_id = self.telegram.inject(update)
            queued = next((u for u in self.telegram.updates if u["update_id"] == update_id), None)
            return int(queued["message"]["message_id"]) if queued else None

        message_id: int | None = self.loop.run(inject)
        return message_id


# -- the data the demo keeps apart -----------------------------------------------------------


@dataclass
class Isolation:
    data_dir: Path
    database: str
    prefix: str

    def secrets(self) -> dict[str, str]:
        """Made on the first run and kept: encrypted rows must stay readable."""
        path = self.data_dir / "secrets.json"
        if path.exists():
            kept: dict[str, str] = json.loads(path.read_text())
            return kept
        import secrets

        made = {
            "ADMIN_API_TOKEN": secrets.token_urlsafe(32),
            "SERVICE_API_TOKEN": secrets.token_urlsafe(32),
            "LLM_MODEL_DECRYPT_KEY": generate_key(),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(made))
        path.chmod(0o600)
        return made

    def infra(self, configured: dict[str, str], embedded: bool) -> Infra:
        """Local (or configured) servers, else embedded ones, with the demo's own database."""
        configured = dict(configured)
        if configured.get("ASYNC_DATABASE_URL"):
            configured["ASYNC_DATABASE_URL"] = with_database(
                configured["ASYNC_DATABASE_URL"], self.database
            )
        return infra.resolve(configured, self.data_dir, embedded, database=self.database)

    def wipe(self, found: Infra) -> None:
        """A clean slate: the demo's database anew, its Redis keys gone (nothing else)."""
        if "demo" not in self.database:
            raise DemoError(f"refusing to reset {self.database!r}: not a demo database")
        conn = psycopg2.connect(infra.admin_dsn(found.database_url, "postgres"))
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(self.database)
                )
            )
        conn.close()
        infra.ensure_database(found.database_url)
        client = redis.Redis.from_url(found.redis_url)
        try:
            keys = list(client.scan_iter(match=f"{_glob_escape(self.prefix)}*", count=1000))
            for start in range(0, len(keys), 500):
                client.delete(*keys[start : start + 500])
        finally:
            client.close()


def _glob_escape(text: str) -> str:
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)


# -- the services --------------------------------------------------------------------------


class QuietForeground(Foreground):
    """`up`'s runner, with each service's output in a log file instead of the terminal."""

    def __init__(self, env: dict[str, str], cwd: Path, log_dir: Path, pid_file: Path) -> None:
        super().__init__(env, cwd)
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir = log_dir
        self.pid_file = pid_file
        self._started: dict[str, int] = {}
        self._record_lock = threading.Lock()

    def _pump(self, name: str, proc: subprocess.Popen[bytes], color: str) -> None:
        assert proc.stdout is not None
        self._record(name, proc.pid)  # runs as soon as the process exists
        with (self.log_dir / f"{name}.log").open("ab") as log:
            for raw in iter(proc.stdout.readline, b""):
                log.write(raw)
                log.flush()
                tail = self._tails[name]
                tail.append(raw.decode(errors="replace").rstrip())
                del tail[:-50]

    def _record(self, name: str, pid: int) -> None:
        """Noted on disk, so a demo killed outright has its services stopped by the next."""
        with self._record_lock:
            self._started[name] = pid
            self.pid_file.parent.mkdir(parents=True, exist_ok=True)
            self.pid_file.write_text(json.dumps(self._started))

    def stop_all(self, timeout: float = 10.0) -> None:
        super().stop_all(timeout)
        self.pid_file.unlink(missing_ok=True)


def _running(pid: int) -> bool:
    """Alive and not a zombie waiting for its parent."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def stop_leftovers(pid_file: Path, timeout: float = 10.0) -> None:
    """Services a previous demo left running (it was killed outright): they would read the
    demo's queues, so they go first."""
    if not pid_file.exists():
        return
    alive = []
    for name, pid in json.loads(pid_file.read_text()).items():
        with contextlib.suppress(OSError):
            if f"-m\0{name}".encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                os.kill(pid, signal.SIGTERM)
                alive.append(pid)
    deadline = time.monotonic() + timeout
    while alive and time.monotonic() < deadline:
        alive = [pid for pid in alive if _running(pid)]
        time.sleep(0.1)
    for pid in alive:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    pid_file.unlink()
    say("stopped the services a previous demo left running")


def free_base_port(start: int = 8100) -> int:
    """The first N..N+5 (N = 8100, 8110, ...) where nothing listens: a port per service."""
    for base in range(start, 60_000, 10):
        if not any(port_answers("127.0.0.1", base + i) for i in range(len(NAMES))):
            return base
    raise DemoError(f"no {len(NAMES)} free ports in a row")


def run_python(args: list[str], env: dict[str, str], cwd: Path) -> None:
    result = subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise DemoError(f"`python {' '.join(args)}` failed:\n{result.stderr[-3000:]}")


def start_services(runner: QuietForeground, chosen: list[ServiceSpec], timeout: float) -> None:
    """All at once, as `up` does: the workers wait for rest_service's config on their own."""
    for spec in chosen:
        runner.launch(spec)
    runner.wait_healthy(chosen, timeout)


# -- the terminal as a Telegram chat -----------------------------------------------------------


_URL = re.compile(r"https?://[^\s<>\"')\]]+")


def links_of(message: SentMessage) -> list[str]:
    """The URLs a person could click in the message: written out, or behind a text link."""
    found = [e["url"] for e in message.entities if e.get("type") == "text_link" and e.get("url")]
    found += _URL.findall(message.text)
    return list(dict.fromkeys(found))


@dataclass
class Transcript:
    """What the bot sent, printed as it arrives; the links in it, numbered for /click."""

    world: World
    out: Callable[[str], None]
    links: list[str] = field(default_factory=list)
    shown: int = 0
    #: Edits printed so far: a live answer grows by edits of one message.
    edits_shown: int = 0
    #: What was printed last for each message, so an edit that changes nothing is not repeated.
    printed: dict[tuple[int, int], str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def render(self, message: SentMessage, text: str | None = None) -> str:
        where = "bot" if message.chat_id > 0 else f"bot in {GROUP['title']}"
        text = html.unescape(message.text if text is None else text).strip()
        links = links_of(message)
        for url in links:
            self.links.append(url)
            shown = f"{_short(url)} [link {len(self.links)}]"
            text = text.replace(url, shown) if url in text else f"{text}\n{shown}"
        if links:
            text += f"\n(/click {len(self.links)} opens the link)"
        lines = text.splitlines() or [""]
        return "\n".join([f"{where}> {lines[0]}", *(f"     {line}" for line in lines[1:])])

    def flush(self) -> None:
        """Print what arrived since the last call: new messages, and the new text of a
        message the bot edited (a group's live answer becomes the answer by an edit)."""
        with self.lock:
            sent = self.world.telegram.sent
            while self.shown < len(sent):
                message = sent[self.shown]
                self._print(message, message.text)
                self.shown += 1
            edits = self.world.telegram.live.edits
            while self.edits_shown < len(edits):
                edit = edits[self.edits_shown]
                self.edits_shown += 1
                edited = next(
                    (m for m in sent[: self.shown]
                     if (m.chat_id, m.message_id) == (edit.chat_id, edit.message_id)),
                    None,
                )  # fmt: skip
                if edited is not None:
                    self._print(edited, edit.text)

    def _print(self, message: SentMessage, text: str) -> None:
        key = (message.chat_id, message.message_id)
        if self.printed.get(key) != text:
            self.printed[key] = text
            self.out(self.render(message, text))

    def wait(
        self, found: Callable[[SentMessage], bool], since: int, timeout: float
    ) -> SentMessage | None:
        """Wait for a message (index >= since) that `found` accepts, printing as they come."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.flush()
            sent = self.world.telegram.sent
            for index in range(since, len(sent)):
                if found(sent[index]):
                    self._settle()
                    return sent[index]
            time.sleep(0.05)
        return None

    def _settle(self, quiet: float = 0.3) -> None:
        """The rest of a multi-part answer arrives within moments."""
        count = -1
        while count != len(self.world.telegram.sent):
            count = len(self.world.telegram.sent)
            time.sleep(quiet)
        self.flush()


class Console:
    """Where the transcript goes: plain lines, or (at a terminal) above the prompt."""

    def __init__(self, interactive: bool) -> None:
        self.interactive = interactive
        self.prompt = "you> "
        self.reading = False
        self._readline: Any = None
        if interactive:
            with contextlib.suppress(ImportError):
                import readline

                self._readline = readline

    def print(self, text: str) -> None:
        if self.interactive and self.reading:
            typed = self._readline.get_line_buffer() if self._readline else ""
            sys.stdout.write(f"\r\033[K{text}\n{self.prompt}{typed}")
            sys.stdout.flush()
        else:
            print(text, flush=True)

    def read(self) -> str:
        self.reading = True
        try:
            return input(self.prompt)
        finally:
            self.reading = False


class Demo:
    """One person in a private chat with the bot, and Bob in the group "Team"."""

    def __init__(self, world: World, console: Console, reply_timeout: float) -> None:
        self.world = world
        self.console = console
        self.reply_timeout = reply_timeout
        self.transcript = Transcript(world, console.print)
        self._answered = 0  # messages before this index were answers already waited for
        self._stop = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="demo-watcher", daemon=True)

    def __enter__(self) -> Demo:
        self._watcher.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._watcher.join(2)
        self.transcript.flush()

    def _watch(self) -> None:
        """Reminders and notifications show up even while the prompt waits."""
        while not self._stop.wait(0.1):
            self.transcript.flush()

    # -- one line -------------------------------------------------------------------------

    def handle(self, line: str) -> bool:
        """Act on one line; False once the person wants to stop."""
        line = line.strip()
        if not line:
            return True
        command, _, rest = line.partition(" ")
        command = command.lower()
        if command in ("/quit", "/exit", "quit", "exit"):
            return False
        if command == "/help":
            self.console.print(HELP)
        elif command in ("/click", "/open") or (
            command in ("click", "open") and re.fullmatch(r"\d*", rest.strip())
        ):
            self.click(rest.strip())
        elif command == "/group":
            self.group(rest.strip())
        elif command == "/web":
            self.web(rest.strip())
        elif command in ("/whatsapp", "/slack"):
            self.elsewhere(command.removeprefix("/"), rest.strip())
        elif command == "/email":
            self.mail(rest.strip())
        elif command == "/wait":
            self.wait_for(rest.strip())
        else:
            self.private(line)
        return True

    def private(self, text: str) -> None:
        since = len(self.world.telegram.sent)
        self.world.inject(tg.private_text(YOU, text))
        self._await_answer(lambda m: m.chat_id == YOU["id"], since)

    def web(self, text: str) -> None:
        if not text or self.world.web is None:
            self.console.print("usage: /web TEXT (a visitor of the web chat says it)")
            return
        self.console.print(f"web visitor> {text}")
        try:
            answers = self.world.web.say(text, self.reply_timeout)
        except OSError as exc:  # URLError and timeouts are OSErrors
            self.console.print(f"web> (the web chat did not answer: {exc})")
            return
        for answer in answers or ["(no answer in time)"]:
            self.console.print(f"web> {answer}")

    def elsewhere(self, channel: str, text: str) -> None:
        """You, in WhatsApp or in Slack."""
        person = self.world.whatsapp if channel == "whatsapp" else self.world.slack
        if not text or person is None:
            self.console.print(f"usage: /{channel} TEXT (you say it in {channel})")
            return
        self.console.print(f"you in {channel}> {text}")
        answers = person.say(text, self.reply_timeout)
        for answer in answers or ["(no answer in time)"]:
            self.console.print(f"{channel}> {answer}")

    def mail(self, text: str) -> None:
        """You, in e-mail."""
        if self.world.email is None:
            self.console.print(f"/email is off here: {self.world.email_missing}")
            return
        if not text:
            self.console.print("usage: /email TEXT (you mail it to the secretary)")
            return
        self.console.print(f"you by e-mail> {text}")
        try:
            answers = self.world.email.say(text, self.reply_timeout)
        except OSError as exc:
            self.console.print(f"email> (the mail servers did not answer: {exc})")
            return
        for answer in answers or ["(no answer in time)"]:
            self.console.print(f"email> {answer}")

    def group(self, text: str) -> None:
        if not text:
            self.console.print("usage: /group TEXT (Bob says it in the group, to the bot)")
            return
        if f"@{BOT_USERNAME}" not in text:
            text = f"@{BOT_USERNAME} {text}"
        self.console.print(f"Bob in {GROUP['title']}> {text}")
        since = len(self.world.telegram.sent)
        message_id = self.world.inject(tg.group_text(GROUP, MEMBER, text))
        self._await_answer(
            lambda m: m.chat_id == GROUP["id"] and m.reply_to_message_id == message_id, since
        )

    def click(self, which: str) -> None:
        self.transcript.flush()
        links = self.transcript.links
        if not links:
            self.console.print('(no link to click yet: ask "what\'s on my calendar" first)')
            return
        try:
            url = links[int(which) - 1] if which else links[-1]
        except (ValueError, IndexError):
            self.console.print(f"(no link {which}: there are {len(links)})")
            return
        since = len(self.world.telegram.sent)
        self.console.print(f"browser> opening {_short(url)}")
        try:
            text = _open(url)
        except (OSError, ValueError) as exc:  # URLError and timeouts are OSErrors
            self.console.print(f"browser> could not open it: {exc}")
            return
        self.console.print(f"browser> {page_text(text)}")
        if url.startswith(self.world.google.url):  # the consent: the bot asks you to confirm
            asked = self._await_answer(lambda m: m.chat_id == YOU["id"], since)
            if asked is not None and CONFIRM in asked.text:
                # The account is yours: answer the bot's question, as you would in Telegram.
                self.console.print(f"you> {CONFIRM}")
                self.private(CONFIRM)

    def wait_for(self, args: str) -> None:
        """`/wait TEXT [SECONDS]`: a message not yet waited for that contains TEXT."""
        match = re.fullmatch(r"(.*?)\s*(\d+(?:\.\d+)?)?", args)
        assert match is not None
        text, seconds = match.group(1), float(match.group(2) or 120)
        found = self.transcript.wait(
            lambda m: text.lower() in m.text.lower(), self._answered, seconds
        )
        if found is None:
            self.console.print(f"(nothing with {text!r} in {seconds:g} s)")
        else:
            self._answered = self.world.telegram.sent.index(found) + 1

    def _await_answer(self, found: Callable[[SentMessage], bool], since: int) -> SentMessage | None:
        answer = self.transcript.wait(found, since, self.reply_timeout)
        if answer is None:
            self.console.print(f"(no answer in {self.reply_timeout:g} s; see the logs)")
            return None
        self._answered = max(self._answered, self.world.telegram.sent.index(answer) + 1)
        return answer


def _short(url: str, keep: int = 48) -> str:
    return url if len(url) <= keep else url[:keep] + "…"


def _open(url: str) -> str:
    """The page at `url` as a browser gets it: redirects followed, an error page read too."""
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return _decoded(response.read(), response.headers.get_content_charset())
    except urllib.error.HTTPError as answered:
        if answered.code < 400:  # redirects that go on (or round) too long: not opened
            raise
        with answered:  # a 4xx or 5xx still has a page to show
            return _decoded(answered.read(), answered.headers.get_content_charset())


def _decoded(body: bytes, charset: str | None) -> str:
    try:
        return body.decode(charset or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        return body.decode("utf-8", errors="replace")


def page_text(page: str) -> str:
    """A web page as a line of text: its title and paragraphs."""
    page = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", page)
    title = re.search(r"(?is)<title>(.*?)</title>", page)
    body = re.sub(r"(?is)<title>.*?</title>|<[^>]+>", " ", page)
    text = " ".join(html.unescape(body).split())
    head = html.unescape(title.group(1)).strip() if title else ""
    return f"{head}: {text.removeprefix(head).strip()}" if head else text


# -- the command -------------------------------------------------------------------------------


@dataclass
class DemoOptions:
    data_dir: Path
    base_port: int | None
    embedded: bool
    database: str
    prefix: str
    lines: list[str] | None  # None: interactive (or lines from a pipe)
    timeout: float
    reply_timeout: float
    env_file: Path


def script_lines(path: str) -> list[str]:
    text = sys.stdin.read() if path == "-" else Path(path).read_text()
    return [
        line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]


def run_demo(options: DemoOptions) -> int:
    from ops.envfile import read_env_file

    options.data_dir.mkdir(parents=True, exist_ok=True)
    isolation = Isolation(options.data_dir, options.database, options.prefix)
    pid_file = options.data_dir / "run" / "services.json"
    stop_leftovers(pid_file)
    configured = {**read_env_file(options.env_file), **os.environ}
    found = isolation.infra(configured, options.embedded)
    say(found.describe())
    world = World()
    runner: QuietForeground | None = None
    signal.signal(signal.SIGINT, _raise_interrupt)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        isolation.wipe(found)
        world.start()
        base = options.base_port or free_base_port()
        chosen = specs(base)
        check_ports_free(chosen)
        calendar = next(s for s in chosen if s.name == "google_calendar_service")
        world.meet(next(s.url for s in chosen if s.name == "channels"))
        env = service_env(isolation, found, world, chosen, calendar.url)
        say("preparing the demo database")
        run_python(
            ["-m", "alembic", "-c", str(ALEMBIC_INI), "upgrade", "head"], env, options.data_dir
        )
        run_python(["-m", "rest_service.seed"], env, options.data_dir)
        runner = QuietForeground(env, options.data_dir, options.data_dir / "logs", pid_file)
        say(f"starting the services on ports {base}..{base + len(NAMES) - 1}")
        start_services(runner, chosen, options.timeout)
        say(f"ready; service logs in {options.data_dir / 'logs'}")
        return converse(world, options)
    except KeyboardInterrupt:
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut cleanup
        say("stopping")
        if runner is not None:
            runner.stop_all()
        world.stop()
        infra.stop_embedded(found)
        say("stopped")


def converse(world: World, options: DemoOptions) -> int:
    interactive = options.lines is None and sys.stdin.isatty()
    console = Console(interactive)
    with Demo(world, console, options.reply_timeout) as demo:
        if interactive:
            console.print("You are a Telegram user chatting with the bot. /help lists the demo")
            console.print("commands; Ctrl-C or Ctrl-D stops the demo.")
        for line in _lines(options, console):
            if not interactive:
                console.print(f"you> {line}")
            if not demo.handle(line):
                break
    return 0


def _lines(options: DemoOptions, console: Console) -> Iterator[str]:
    if options.lines is not None:
        yield from options.lines
        return
    if not console.interactive:
        yield from (line.rstrip("\n") for line in sys.stdin if line.strip())
        return
    while True:
        try:
            yield console.read()
        except EOFError:
            print()
            return


def service_env(
    isolation: Isolation,
    found: Infra,
    world: World,
    chosen: Iterable[ServiceSpec],
    calendar_url: str,
) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k in PASSED_THROUGH or k.startswith("LC_")}
    return {
        **base,
        **isolation.secrets(),
        **world.env(calendar_url),
        "ASYNC_DATABASE_URL": found.database_url,
        "REDIS_URL": found.redis_url,
        "REDIS_KEY_PREFIX": isolation.prefix,
        **peer_urls({s.name: s.url for s in chosen}),
        "HTTP_HOST": "127.0.0.1",
        "LOG_FORMAT": "console",
        ENV_FILE_VARIABLE: "",  # exactly these settings: no env file of its own
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
    }


def _raise_interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt
