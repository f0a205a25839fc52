"""A customer's whole journey with a shop's consultant bot, beside the secretary bot in one
deployment, every service a real process (the business assistant's acceptance journey): the
customer comes through a deep link, asks a question answered from an imported article, browses the
catalogue, shares a phone number with the button, and becomes one lead that reaches a
subscribed webhook (signature verified) and the Bitrix24 stand-in, gives 👎 with a comment,
asks for a person, gets an operator's reply from the operator group and is handed back; the
lead exports as CSV and XLSX with the right row. An experiment on the same consultant splits
its customers stably, and its figures add up."""

from __future__ import annotations

import csv
import io
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from common.features.experiments import pick
from sandbox import telegram_updates as build
from sandbox.bitrix24 import Bitrix24StandIn
from sandbox.telegram_api import SentMessage, TelegramStandIn
from sandbox.webhook_receiver import Receiver
from tests.harness import MigratedDatabases
from tests.spreadsheets import xlsx_rows
from tests.system import DEFAULT_MODEL, FALLBACK_MODEL, Person, System, running_system
from tests.test_feedback_end_to_end import notice, press, tap
from tests.waiting import until

pytestmark = pytest.mark.e2e

OPERATORS = -100_5555_0001
ARTICLES = """# Delivery
We deliver across Berlin within two days; delivery is free over 50 EUR.

# Returns
Unused items can be returned within 14 days.
"""


class Journey:
    def __init__(self, system: System, receiver: Receiver, bitrix: Bitrix24StandIn) -> None:
        self.system, self.receiver, self.bitrix = system, receiver, bitrix
        self.shop: TelegramStandIn | None = None
        self.secret = ""
        self.consultant: dict[str, Any] = {}
        self.bot_id = ""

    @property
    def bot(self) -> TelegramStandIn:
        assert self.shop is not None
        return self.shop

    def sent(self, person: Person) -> list[SentMessage]:
        return self.bot.sent_to(person.id)

    async def in_group(self, containing: str) -> SentMessage:
        """The shop bot's message in the operator group holding `containing`."""
        found: SentMessage = await until(
            lambda: next((m for m in self.bot.sent_to(OPERATORS) if containing in m.text), None),
            30,
            f"{containing!r} in the operator group",
        )
        return found

    def tap(self, person: Person, message: SentMessage) -> None:
        """`person` taps the one button under the bot's `message`."""
        ((button,),) = (message.reply_markup or {})["inline_keyboard"]
        tap(self.system, self.bot, person, message, button["callback_data"])

    async def answer(self, person: Person, text: str | None, **content: Any) -> SentMessage:
        """What the shop's bot sends after `text` (or other `content`) from `person`."""
        before = len(self.sent(person))
        chat = build.private_chat(person.telegram)
        update = build.message(chat, person.telegram, text=text, **content)
        self.system.telegram.inject(update, self.bot)
        found = await until(
            lambda: self.sent(person)[before:] or None, 60, f"the shop's answer to {text!r}"
        )
        return found[-1]


@pytest.fixture(scope="module")
def journey(
    migrated_databases: MigratedDatabases,
    redis_url: str,
    session_prefix: str,
    secrets: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Journey]:
    receiver = Receiver().start_in_thread()
    bitrix = Bitrix24StandIn().start_in_thread()
    rest = {
        "BITRIX24_WEBHOOK_URL": bitrix.url,
        "WEBHOOK_ALLOW_PRIVATE_ADDRESSES": "true",
        "WEBHOOK_RETRY_BASE_SECONDS": "0.2",
        "WEBHOOK_POLL_SECONDS": "1",
    }
    prefix = f"{session_prefix}journey-{uuid.uuid4().hex[:6]}:"
    workdir = tmp_path_factory.mktemp("journey")
    try:
        with running_system(
            migrated_databases, redis_url, prefix, secrets, workdir, {"rest_service": rest}
        ) as system:
            yield Journey(system, receiver, bitrix)
    finally:
        receiver.stop_thread()
        bitrix.stop_thread()


async def open_the_shop(journey: Journey, admin: httpx.AsyncClient) -> None:
    """What the shop's admin does first: the articles, the catalogue, the webhook, the bot."""
    system = journey.system
    assistants = (await admin.get("/api/assistants/", params={"limit": 100})).json()
    journey.consultant = next(a for a in assistants if a["name"] == "consultant")
    consultant_id = journey.consultant["id"]
    imported = await admin.post(
        "/api/knowledge/import",
        files={"file": ("shop.md", ARTICLES.encode(), "text/markdown")},
        data={"assistant_id": consultant_id},
    )
    assert imported.status_code == 201, imported.text
    for name, price in (("Haircut", "25.00"), ("Beard trim", "12.50")):
        item = {"name": name, "price": price, "currency": "EUR", "assistant_id": consultant_id}
        made = await admin.post("/api/catalogue/", json=item)
        assert made.status_code == 201, made.text
    hook = await admin.post(
        "/api/webhooks/",
        json={
            "name": "crm",
            "url": journey.receiver.url,
            "events": ["lead.created", "feedback.created", "feedback.updated"],
        },
    )
    assert hook.status_code == 201, hook.text
    journey.secret = hook.json()["secret"]
    telegram_id = random.randint(10**9, 2 * 10**9)
    journey.shop = system.telegram.add_bot(f"{telegram_id}:SHOP-{uuid.uuid4().hex}", "barber_bot")
    bot = await admin.post(
        "/api/bots/",
        json={
            "name": "barber",
            "assistant_id": consultant_id,
            "token": journey.shop.token,
            "greeting": "Welcome to the barber shop!",
            "operator_chat_id": OPERATORS,
        },
    )
    assert bot.status_code == 201, bot.text
    journey.bot_id = bot.json()["id"]
    await system.assistant_has_latest_config()


@pytest.mark.timeout(240)
async def test_a_customer_becomes_a_lead_in_the_crm(journey: Journey) -> None:
    system, llm = journey.system, journey.system.llm
    llm.reset()
    if journey.shop is None:  # the experiment's test may have opened it (in a random order)
        async with system.admin() as admin:
            await open_the_shop(journey, admin)
    ola = Person.new("Ola")

    greeting = await journey.answer(ola, "/start spring_promo")
    assert greeting.text == "Welcome to the barber shop!"

    # a question answered from the imported article, which the answer cites
    llm.call("knowledge", {"query": "delivery Berlin"}, contains="deliver to Berlin?")
    llm.reply("Yes: within two days, free over 50 EUR (from “Delivery”).", contains="to Berlin?")
    answer = await journey.answer(ola, "Do you deliver to Berlin?")
    assert "two days" in answer.text
    [found] = system.tool_results("deliver to Berlin?")
    assert "Delivery" in str(found) and "within two days" in str(found)

    # the catalogue, with a button per item
    llm.call("catalogue", {"action": "search", "query": "haircut"}, contains="haircuts")
    llm.reply("A haircut is 25.00 EUR.", contains="haircuts")
    shown = await journey.answer(ola, "What haircuts do you have?")
    assert "25.00 EUR" in shown.text
    buttons = [
        b["text"] for row in (shown.reply_markup or {}).get("inline_keyboard", []) for b in row
    ]
    assert any("Haircut" in b for b in buttons), buttons
    [items] = system.tool_results("haircuts")
    assert "25.00" in str(items)

    # the phone number, through the "Share my phone number" button
    llm.call("contact", {"action": "request_phone"}, contains="book a haircut")
    llm.reply("Please share your phone number and we will call you.", contains="book a haircut")
    asked = await journey.answer(ola, "I want to book a haircut")
    keyboard = asked.reply_markup or {}
    assert any(b.get("request_contact") for row in keyboard.get("keyboard", []) for b in row)

    consent = "You agree that the shop stores your phone number to call you back."
    save = {"action": "save", "name": "Ola", "phone": "+49 30 1234567", "consent": consent}
    llm.call("contact", save, contains="Shared a contact")
    llm.call("lead", {"action": "note_interest", "items": ["Haircut"]}, contains="Shared a contact")
    llm.reply("Thank you, Ola! We will call you to book.", contains="Shared a contact")
    card = {"phone_number": "+49 30 1234567", "first_name": "Ola", "user_id": ola.id}
    thanked = await journey.answer(ola, None, contact=card)
    assert "We will call you" in thanked.text
    saved, noted = system.tool_results("Shared a contact")
    assert "+49301234567" in str(saved), saved
    assert noted == {"lead": "recorded", "items": ["Haircut"], "contact_saved": True}, noted

    # one lead, in the webhook (signed) and in Bitrix24
    events = await until(lambda: journey.receiver.events(journey.secret) or None, 30, "the webhook")
    [created] = [e for e in events if e["event"] == "lead.created"]
    assert created["data"]["phone"] == "+49301234567"
    assert created["data"]["items"][0]["name"] == "Haircut"
    assert created["data"]["start_payload"] == "spring_promo"
    crm = await until(lambda: list(journey.bitrix.leads.values()) or None, 30, "the Bitrix24 lead")
    assert crm[0]["PHONE"][0]["VALUE"] == "+49301234567"

    # 👎 under the answer, and why: stored with the answer's model, sent to the CRM too
    down = press(system, journey.bot, ola, thanked, "👎")
    assert await notice(journey.bot, down) == "Thanks, noted."

    def asked_why() -> bool:
        return "What was wrong?" in journey.sent(ola)[-1].text

    assert await until(asked_why, 30, "the question why")
    said = await journey.answer(ola, "I had to wait too long")
    assert said.text == "Thanks, your comment is saved."
    assert system.requests_about("wait too long") == []  # the model never saw it
    rated = system.query(
        "SELECT rating, comment, model FROM feedback WHERE assistant_id = %s",
        journey.consultant["id"],
    )
    assert rated == [(-1, "I had to wait too long", DEFAULT_MODEL)]
    commented = await until(
        lambda: (
            [
                e
                for e in journey.receiver.events(journey.secret)
                if e["event"] == "feedback.updated" and e["data"].get("comment")
            ]
            or None
        ),
        30,
        "the comment's webhook",
    )
    assert commented[0]["data"]["comment"] == "I had to wait too long"

    # a person: the operators get the summary, one of them answers, and hands back
    ask = "Can I talk to a person about a group booking?"
    handing = {"reason": "customer_asked", "summary": "Ola wants a group booking"}
    llm.call("handoff", handing, contains="group booking?")
    llm.reply("I've passed this to a colleague; they'll reply here.", contains="group booking?")
    assert "colleague" in (await journey.answer(ola, ask)).text
    announced = await journey.in_group("Ola wants a group booking")
    assert "Haircut" in announced.text or "book a haircut" in announced.text  # the last words
    model_calls = len(llm.requests)
    mia = Person.new("Mia")
    group = build.group_chat(OPERATORS, "Operators")
    reply = build.reply(
        group,
        mia.telegram,
        "Hi Ola, Mia here: five people on Saturday works.",
        announced.as_message(journey.bot.bot),
    )
    system.telegram.inject(reply, journey.bot)
    relayed = await until(
        lambda: [m for m in journey.sent(ola) if "Mia here" in m.text] or None,
        30,
        "the operator's reply",
    )
    assert relayed[-1].text.startswith("Hi Ola, Mia here")
    assert len(llm.requests) == model_calls  # the model stayed out of it
    journey.tap(mia, announced)
    await until(
        lambda: [m for m in journey.sent(ola) if "assistant again" in m.text] or None,
        30,
        "handed back",
    )

    # the lead exports with the right row
    async with system.admin() as admin:
        params = {"assistant_id": journey.consultant["id"]}
        as_csv = await admin.get("/api/leads/export", params={**params, "format": "csv"})
        as_xlsx = await admin.get("/api/leads/export", params={**params, "format": "xlsx"})
    [row] = list(csv.DictReader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert (row["phone"], row["items"], row["start_payload"], row["bot"]) == (
        "'+49301234567",
        "Haircut",
        "spring_promo",
        journey.bot_id,
    )
    header, *rows = xlsx_rows(as_xlsx.content)
    [xlsx_row] = [dict(zip(header, r, strict=True)) for r in rows]
    assert xlsx_row["phone"] == "+49301234567" and xlsx_row["start_payload"] == "spring_promo"


@dataclass(frozen=True)
class Arm:
    id: str
    name: str
    share: int


@pytest.mark.timeout(240)
async def test_an_experiment_splits_customers_stably_and_its_figures_add_up(
    journey: Journey,
) -> None:
    """The consultant runs a variant (its own prompt and model) on half its customers: each
    keeps the arm the hash gives them over every turn, and the results count them there."""
    system, llm = journey.system, journey.system.llm
    llm.reset()
    if journey.shop is None:
        async with system.admin() as admin:
            await open_the_shop(journey, admin)
    marker = f"SHORT-{uuid.uuid4().hex[:6]}"
    body = {
        "assistant_id": journey.consultant["id"],
        "name": "shorter answers",
        "variants": [
            {"name": "control", "share": 50, "is_control": True},
            {"name": "short", "share": 50, "instructions": marker, "model": FALLBACK_MODEL},
        ],
    }
    async with system.admin() as admin:
        made = await admin.post("/api/experiments/", json=body)
        assert made.status_code == 201, made.text
        experiment = made.json()
        await system.assistant_has_latest_config()
        arms = [Arm(v["id"], v["name"], v["share"]) for v in experiment["variants"]]
        people: dict[str, list[Person]] = {"control": [], "short": []}
        try:
            # new customers until each arm has two (at 50/50, a handful)
            for n in range(24):
                if min(len(p) for p in people.values()) >= 2:
                    break
                person = Person.new(f"C{n}")
                await journey.answer(person, f"hello from {person.username}")
                [(user_id,)] = system.query(
                    "SELECT id FROM users WHERE telegram_id = %s", person.id
                )
                arm = pick(arms, uuid.UUID(experiment["id"]), user_id)
                people[arm.name].append(person)
                await journey.answer(person, f"again from {person.username}")
            assert min(len(p) for p in people.values()) >= 2, people
            for name, members in people.items():
                for person in members:
                    for said in ("hello from", "again from"):
                        [asked] = system.requests_about(f"{said} {person.username}")
                        in_short = marker in asked.system_text
                        assert in_short == (name == "short"), (name, said)
                        assert (asked.model == FALLBACK_MODEL) == (name == "short")
            shown = await admin.get(f"/api/experiments/{experiment['id']}/results")
            results = shown.json()
        finally:
            await admin.post(f"/api/experiments/{experiment['id']}/stop")
    by_arm = {v["name"]: v for v in results["variants"]}
    for name, members in people.items():
        assert by_arm[name]["people"] == len(members)
        assert by_arm[name]["completions"] == 2 * len(members)
    totals = results["totals"]
    for key in ("people", "conversations", "completions", "leads", "tokens_in", "tokens_out"):
        assert totals[key] == sum(v[key] for v in results["variants"]), key
