"""`contact`: the customer's own name, phone and e-mail for the running assistant's
business, saved only with the consent text they agreed to, shown and deleted on request.
The customer is the message's sender, never a user named in the arguments; contacts are
private, so a group chat neither stores nor shows one."""

from __future__ import annotations

from typing import Any

from assistant.src.tools.base import BaseTool, ToolCallOrigin, ToolError
from common.infrastructure.errors import ValidationFailedError
from common.infrastructure.wire import Contact, ContactIn

GROUP_REFUSAL = (
    "contact details are private: they are neither stored nor shown in a group chat; ask the "
    "customer to write to you in a private chat"
)
NO_CONSENT = (
    "action 'save' needs 'consent': first quote the consent text to the customer, ask whether "
    "they agree, and pass the text they agreed to"
)
#: How long a request for the number is noted (a redelivered turn finds it).
REQUEST_NOTED_S = 3600
PHONE_BUTTON = (
    "a 'Share my phone number' button is shown under your answer: say what the number is "
    "for, quote the consent text, and ask the customer to tap the button or write the number"
)
ASK_AGAIN = {
    "phone": "the phone number is not a valid number: ask the customer to write it again "
    "with the country code, e.g. +7 912 345-67-89",
    "email": "the e-mail address is not valid: ask the customer to write it again",
}


class ContactTool(BaseTool, tool_type="contact"):
    def stores_or_removes(self, arguments: dict[str, Any]) -> bool:
        return arguments.get("action") in ("save", "delete")

    async def run(self, arguments: dict[str, Any], call: ToolCallOrigin) -> Any:
        actor = call.actor
        if actor.is_group:
            raise ToolError(GROUP_REFUSAL)
        if not actor.registered:
            raise ToolError("this customer is not registered yet: nothing can be saved")
        action = arguments.get("action")
        if action == "save":
            return await self._save(arguments, call)
        if action == "show":
            found = await self.services.rest.get_contact(actor.user_id, call.assistant_id)
            return {"contact": shown(found) if found else None}
        if action == "delete":
            gone = await self.services.rest.delete_contact(actor.user_id, call.assistant_id)
            return {"deleted": gone}
        if action == "request_phone":
            key = self.services.names.phone_requested(call.message_id)
            await self.services.redis.set(key, "1", ex=REQUEST_NOTED_S)
            return {"note": PHONE_BUTTON}
        raise ToolError("unknown action: use save, show, delete or request_phone")

    async def _save(self, arguments: dict[str, Any], call: ToolCallOrigin) -> Any:
        consent = " ".join(str(arguments.get("consent") or "").split())
        if not consent:
            raise ToolError(NO_CONSENT)
        given = {k: arguments[k] for k in ("name", "phone", "email") if arguments.get(k)}
        if not given:
            raise ToolError("action 'save' needs the customer's name, phone or email")
        contact = ContactIn(consent_text=consent, source=call.actor.channel, **given)
        try:
            saved, _made = await self.services.rest.save_contact(
                call.actor.user_id, call.assistant_id, contact
            )
        except ValidationFailedError as exc:
            fields = [f.field for f in exc.fields]
            asks = [ASK_AGAIN[f] for f in fields if f in ASK_AGAIN]
            raise ToolError("; ".join(asks) or f"not saved: {exc.detail}") from exc
        return {"contact": shown(saved), "note": "saved with the customer's consent"}


def shown(contact: Contact) -> dict[str, Any]:
    return {
        "name": contact.name,
        "phone": contact.phone,
        "email": contact.email,
        "consent": contact.consent_text,
        "consented_at": contact.consented_at.isoformat(),
    }
