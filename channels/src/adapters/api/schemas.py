"""The public API's bodies: OpenAI's chat-completion shapes (what its client libraries send
and read) and the asynchronous messages'."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

#: The assistant a request names when it names none: the deployment's secretary.
SECRETARY = "secretary"
#: What one message may say (longer than a chat's: programs send whole documents).
TEXT_MAX = 16_384
#: The caller's own id for a person: printable text, up to this long.
PERSON_MAX = 200
#: Messages a chat-completion request may carry (only the last user message is read).
MESSAGES_MAX = 1_000

#: Printable (no control characters) and not only spaces.
_PRINTABLE = r"^[^\x00-\x1f\x7f]*[^\x00-\x1f\x7f\s][^\x00-\x1f\x7f]*$"
Person = Annotated[str, StringConstraints(min_length=1, max_length=PERSON_MAX, pattern=_PRINTABLE)]
ModelName = Annotated[str, StringConstraints(min_length=1, max_length=255)]


class TextPart(BaseModel):
    """A content part; parts other than text (an image) are accepted and not read."""

    model_config = ConfigDict(extra="allow")
    type: str = Field(max_length=64)
    text: str | None = Field(default=None, max_length=TEXT_MAX)


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str = Field(max_length=64)
    content: str | list[TextPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        parts = self.content or []
        return "\n".join(p.text for p in parts if p.type == "text" and p.text)


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")
    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    """`POST /v1/chat/completions`. The secretary keeps the conversation, so only the last
    `user` message is read: earlier messages (a client's own copy of the history) are
    accepted and left alone. Sampling options (`temperature`, `max_tokens`, ...) are accepted
    and ignored: the assistant's model and settings are the admin's."""

    model_config = ConfigDict(extra="allow")
    model: ModelName = SECRETARY
    messages: list[ChatMessage] = Field(min_length=1, max_length=MESSAGES_MAX)
    #: The caller's id for the person: memory, reminders and limits are theirs. None: the
    #: client speaks as one person of its own.
    user: Person | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None

    def said(self) -> str:
        """The new user message's text; ValueError when there is none."""
        for message in reversed(self.messages):
            if message.role == "user":
                text = message.text().strip()
                if not text:
                    raise ValueError("the last user message has no text")
                if len(text) > TEXT_MAX:
                    raise ValueError(f"the last user message is over {TEXT_MAX} characters")
                return text
        raise ValueError("no message with role 'user'")


#: Files one message may carry.
ATTACHMENTS_MAX = 10
FILE_ID = r"^file-[0-9a-f]{32}$"


class FileRef(BaseModel):
    """An attachment: a file uploaded before (`file_id`) or one to fetch (`url`)."""

    model_config = ConfigDict(extra="forbid")
    file_id: str | None = Field(default=None, pattern=FILE_ID)
    url: str | None = Field(default=None, max_length=2048, pattern=r"^https?://\S+$")
    file_name: str | None = Field(default=None, min_length=1, max_length=255)
    mime_type: str | None = Field(default=None, max_length=255, pattern=r"^[\w.+-]+/[\w.+-]+$")

    @model_validator(mode="after")
    def _one_source(self) -> FileRef:
        if (self.file_id is None) == (self.url is None):
            raise ValueError("give either file_id or url")
        return self


class FileOut(BaseModel):
    """`POST /api/v1/files`: the file, kept for a message to name it until `expires_at`."""

    id: str
    object: Literal["file"] = "file"
    bytes: int
    mime_type: str
    file_name: str | None
    expires_at: datetime


class MessageIn(BaseModel):
    """`POST /api/v1/messages`."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=TEXT_MAX)
    user: Person
    assistant: ModelName = SECRETARY
    #: The same key again (a retry) is the same message: one answer, the same id.
    idempotency_key: str | None = Field(
        default=None, min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$"
    )
    attachments: list[FileRef] = Field(default_factory=list, max_length=ATTACHMENTS_MAX)


class Usage(BaseModel):
    """OpenAI's usage object: the tokens of every model call of the turn."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0

    @classmethod
    def of(cls, prompt: int, completion: int) -> Usage:
        total = prompt + completion
        return cls(prompt_tokens=prompt, completion_tokens=completion, total_tokens=total)


class AnswerOut(BaseModel):
    """An answer as the API shows it: the Markdown the assistant wrote, and its buttons."""

    id: uuid.UUID
    text: str
    kind: str
    created_at: datetime
    buttons: list[list[dict[str, str]]] = []
    usage: Usage | None = None


class MessageState(BaseModel):
    """`GET /api/v1/messages/{id}` and the 202 of `POST`."""

    id: uuid.UUID
    object: Literal["message"] = "message"
    user: str
    assistant: str
    #: queued (taken, not answered yet), answered, refused (over the person's limit or
    #: blocked; `answer` says so when it is told).
    status: Literal["queued", "answered", "refused"]
    created_at: datetime
    answer: AnswerOut | None = None


class ModelOut(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "smart-assistant"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelOut]


def completion(
    completion_id: str, created: int, model: str, text: str, usage: Usage
) -> dict[str, Any]:
    """A `chat.completion` object as OpenAI's clients parse it."""
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": usage.model_dump(),
    }


def chunk(
    completion_id: str,
    created: int,
    model: str,
    delta: dict[str, str],
    finish_reason: str | None = None,
) -> dict[str, Any]:
    """One `chat.completion.chunk` of a streamed answer."""
    return {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
    }


def usage_chunk(completion_id: str, created: int, model: str, usage: Usage) -> dict[str, Any]:
    """The last chunk when `stream_options.include_usage`: no choices, the usage."""
    return {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [],
        "usage": usage.model_dump(),
    }
