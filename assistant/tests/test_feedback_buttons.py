"""👍 / 👎 under an answer, through a running assistant and the LLM stand-in: an answer of an
assistant whose `feedback_buttons` is on carries them, and their token names in Redis exactly
the stored answer, chat, model and prompt; with the setting off the answer has none."""

from __future__ import annotations

import uuid

import httpx

from assistant.tests.support import Deployment
from assistant.tests.test_contact_and_lead_tools import seed_tool
from common.features.buttons import ButtonAction, decode
from common.features.feedback import FeedbackAsks, answer_key, prompt_hash
from common.infrastructure.wire import FeedbackIn
from tests.waiting import until


async def switched(deployment: Deployment, secretary: str, on: bool) -> str:
    """The secretary's `feedback_buttons` set, once the running assistant has seen it; its
    instructions."""
    changed = await deployment.admin.put_json(
        f"/api/assistants/{secretary}", {"feedback_buttons": on}
    )
    latest = await deployment.rest.get_config_version()
    process = await deployment.assistant()
    async with httpx.AsyncClient(timeout=5) as http:

        async def seen() -> bool:
            health = (await http.get(f"{process.url}/health")).json()
            return bool(health["checks"]["config"]["version"] >= latest)

        await until(seen, message=f"the assistant saw config version {latest}")
    return str(changed["instructions"])


async def test_an_answer_carries_the_buttons_only_when_its_assistant_asks(
    deployment: Deployment,
) -> None:
    secretary = await deployment.assistant_id(deployment.config.secretary)
    ann = await deployment.user("Ann")
    instructions = await switched(deployment, secretary, True)
    try:
        deployment.llm.reply("Glad to help.")
        asked = await deployment.send(ann, "hello")
        answer = await deployment.answer_to(asked)

        [[up, down]] = answer.buttons
        pressed_up, pressed_down = decode(up.data), decode(down.data)
        assert pressed_up is not None and pressed_down is not None
        assert (pressed_up.action, pressed_down.action) == (
            ButtonAction.FEEDBACK_UP,
            ButtonAction.FEEDBACK_DOWN,
        )
        assert pressed_up.target == pressed_down.target and len(pressed_up.target) == 32
        rated = await FeedbackAsks(deployment.redis, deployment.names).find(pressed_up.target)
        assert rated is not None
        assert rated.message_key == answer_key(str(asked.message_id))
        assert (rated.assistant_id, rated.chat_id, rated.bot_id) == (secretary, asked.chat_id, None)
        assert rated.prompt_hash == prompt_hash(instructions)
        stored = {m.dedup_key: m for m in await deployment.thread_messages(str(ann.id))}
        assert rated.model is not None and stored[rated.message_key].model == rated.model
        body = FeedbackIn(
            message_key=rated.message_key,
            user_id=ann.id,
            assistant_id=uuid.UUID(secretary),
            rating=-1,
            model=rated.model,
            prompt_hash=rated.prompt_hash,
        )
        row, created = await deployment.rest.record_feedback(body)
        assert created and row.model == rated.model and row.conversation_key == str(ann.id)
    finally:
        await switched(deployment, secretary, False)

    deployment.llm.reply("Still glad to help.")
    plain = await deployment.ask(ann, "hello again")
    assert plain.text and plain.buttons == []


async def test_an_answer_asking_for_the_phone_carries_its_keyboard_not_the_rating(
    deployment: Deployment,
) -> None:
    """Telegram shows one keyboard under a message: the customer's next step (sharing the
    number) wins over rating the answer that asks for it."""
    secretary = await deployment.assistant_id(deployment.config.secretary)
    spec = {**seed_tool("contact"), "name": f"contact_{uuid.uuid4().hex[:8]}"}
    tool = await deployment.admin.post_json("/api/tools/", spec)
    await deployment.admin.post_json(f"/api/assistants/{secretary}/tools/{tool['id']}")
    await switched(deployment, secretary, True)
    try:
        ann = await deployment.user("Ann")
        deployment.llm.call(spec["name"], {"action": "request_phone"})
        answer = await deployment.ask(ann, "call me back")
        assert answer.request_phone and answer.buttons == []
        deployment.llm.reply("Noted.")
        rated = await deployment.ask(ann, "thanks")
        assert [b.text for b in rated.buttons[0]] == ["👍", "👎"]
    finally:
        await switched(deployment, secretary, False)
        await deployment.admin.delete(f"/api/tools/{tool['id']}", cascade=True)
