"""Mail end to end: every service a real process; Telegram, Google (OAuth + Gmail) and the
model the stand-ins. The user asks what came in today (first: the link that allows mail,
confirmed with /calendar confirm), asks for a reply draft, says send, and presses Yes: the
Gmail stand-in receives exactly one message, in Anna's thread, even on a double press.
No sends nothing."""

from __future__ import annotations

from collections.abc import Iterator
from email import message_from_bytes, policy

import pytest

from sandbox.google_mail import unb64url
from tests.system import Person, System
from tests.test_buttons import answer_to, buttons_of, edited, labelled, tap
from tests.test_calendar_scenarios import connected
from tests.waiting import until

pytestmark = pytest.mark.e2e


@pytest.fixture
def system(whole_system: System) -> Iterator[System]:
    whole_system.llm.reset()
    yield whole_system
    whole_system.llm.reset()


async def with_mail(system: System) -> tuple[Person, str, str]:
    """A person whose Google connection allows mail (asked for by the first mail question),
    with Anna's unread message; their address and Anna's thread."""
    person, email, _zone = await connected(system, "en")
    system.llm.call("mail", {"action": "search"}, contains="came in today")
    system.llm.reply("I need permission to read your mail first.", contains="came in today")
    await system.say(person, "what came in today?")
    [refused] = system.tool_results("came in today")
    assert refused["status"] == "mail_not_allowed"
    before = len(system.sent_to(person.id))
    assert (await system.consent(refused["connect_url"], email)).status_code == 200
    await system.next_message(person.id, after=before, containing="/calendar confirm")
    await system.say(person, "/calendar confirm")
    [anna] = system.google.mail.seed(
        email,
        [{"from": "Anna <anna@example.org>", "subject": "Lunch on Thursday?", "text": "Free?"}],
    )
    return person, email, anna.thread_id


@pytest.mark.timeout(180)
async def test_what_came_in_a_draft_then_send_on_yes_once(system: System) -> None:
    person, email, thread = await with_mail(system)
    mailbox = system.google.mail.mailbox(email)
    system.llm.call("mail", {"action": "search"}, contains="came in today")
    system.llm.reply("Anna asks whether you are free for lunch on Thursday.", contains="came in")
    reply = {"action": "reply", "thread_id": thread, "body": "Yes, Thursday works."}
    draft = {**reply, "action": "draft"}
    system.llm.call("mail", draft, contains="draft a reply")
    system.llm.reply("Draft: 'Yes, Thursday works.'", contains="draft a reply")
    system.llm.call("mail", reply, contains="send it")
    system.llm.reply("Shall I send it?", contains="send it")

    summary = await system.say(person, "what came in today that matters?")
    [found] = system.tool_results("came in today")
    [message] = found["messages"]
    assert message["thread_id"] == thread and "Anna" in summary.text
    await system.say(person, "draft a reply saying yes")
    question = await system.say(person, "send it")

    assert mailbox.sent == []  # a draft and a question, nothing sent
    assert "Reply to Anna" in question.text and "Yes, Thursday works." in question.text
    yes = labelled(question, "Yes")
    sent_before = len(system.google.state.operations("gmail.users.messages.send"))
    before = len(system.sent_to(person.id))
    first = tap(system, person, question, yes)
    again = tap(system, person, question, yes)  # a double press
    assert await answer_to(system, first) == "Doing it."
    assert await answer_to(system, again) != "Doing it."
    done = await system.next_message(person.id, after=before, containing="Done")
    assert "Reply to Anna" in done.text
    [sent] = await until(lambda: mailbox.sent)
    assert sent["threadId"] == thread
    mime = message_from_bytes(unb64url(sent["raw"]), policy=policy.default)
    assert mime["To"] == "anna@example.org" and mime.get_content() == "Yes, Thursday works.\n"
    sends = system.google.state.operations("gmail.users.messages.send")
    assert [s.status for s in sends[sent_before:]] == [200]


@pytest.mark.timeout(180)
async def test_no_sends_nothing(system: System) -> None:
    person, email, thread = await with_mail(system)
    reply = {"action": "reply", "thread_id": thread, "body": "No, sorry."}
    system.llm.call("mail", reply, contains="tell anna no")
    system.llm.reply("Shall I send it?", contains="tell anna no")

    sends = len(system.google.state.operations("gmail.users.messages.send"))
    question = await system.say(person, "tell anna no")
    no = labelled(question, "No")
    assert await answer_to(system, tap(system, person, question, no)) == "Not done."
    await edited(system, person.id, question.message_id, "Not done")
    assert buttons_of(await edited(system, person.id, question.message_id, "Not done")) == []
    assert system.google.mail.mailbox(email).sent == []
    assert len(system.google.state.operations("gmail.users.messages.send")) == sends
