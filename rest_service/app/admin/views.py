"""The admin's tables. Lists, search and filters read through sqladmin; every create, edit
and delete goes through rest_service's service layer (the functions the API calls), so the
same checks run, the config version bumps, the change history records it, and
`config:updated` / `cron:updated` are published exactly as for the API."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from markupsafe import Markup
from sqladmin import ModelView, action
from sqladmin.filters import BooleanFilter
from sqladmin.formatters import BASE_FORMATTERS
from sqladmin.helpers import object_identifier_values
from sqladmin.pagination import Pagination
from sqlmodel import SQLModel
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from wtforms import (
    Field,
    Form,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    widgets,
)
from wtforms.validators import ValidationError

from common.infrastructure.errors import AppError
from common.infrastructure.wire import ModelCapability
from rest_service.app.admin import ADMIN_BASE
from rest_service.app.admin import display_names as readable
from rest_service.app.admin.request_ctx import BIGINT_MAX, admin_ctx
from rest_service.app.domain import (
    assistants,
    catalogue,
    cron_jobs,
    knowledge,
    links,
    llm_models,
    profile_facts,
    providers,
    tools,
    users,
)
from rest_service.app.domain.unit_of_work import UnitOfWork
from rest_service.app.domain.validation import check_json_schema
from rest_service.app.models.assistant import (
    Assistant,
    AssistantCreate,
    AssistantToolLink,
    AssistantToolLinkCreate,
    AssistantUpdate,
    Tool,
    ToolCreate,
    ToolUpdate,
)
from rest_service.app.models.catalogue import (
    CatalogueItem,
    CatalogueItemCreate,
    CatalogueItemUpdate,
)
from rest_service.app.models.cron import CronJob, CronJobRun, CronJobUpdate
from rest_service.app.models.knowledge import (
    KnowledgeArticle,
    KnowledgeArticleCreate,
    KnowledgeArticleUpdate,
)
from rest_service.app.models.llm import (
    LLMModel,
    LLMModelCreate,
    LLMModelPublic,
    LLMModelUpdate,
    LLMProvider,
    ProviderCreate,
    ProviderUpdate,
)
from rest_service.app.models.profile_fact import ProfileFact
from rest_service.app.models.user import User, UserUpdate

LIST_PAGE_SIZE = 50


#: A submitted form as sqladmin hands it over (field name -> value): validated at once into
#: the API's models (`AssistantCreate`, ...), which hold the shape.
FormData = dict[str, object]
#: A form field's input's HTML attributes (`form_widget_args`).
HtmlAttributes = dict[str, str | int]
#: A form field's keyword arguments (`form_args`): validators, description, ...
FieldArguments = dict[str, object]


def _blank_to_none(data: FormData, *names: str) -> FormData:
    """A form sends "" for an empty optional field; the services mean null."""
    cleaned = dict(data)
    for name in names:
        if name in cleaned and (cleaned[name] is None or str(cleaned[name]).strip() == ""):
            cleaned[name] = None
    return cleaned


def _uuid_or_none(value: object) -> uuid.UUID | None:
    if value is None or str(value).strip() == "":
        return None
    return uuid.UUID(str(value).strip())


def _with_fields(form: type[Form], **fields: Field) -> type[Form]:
    """Foreign keys are left out of sqladmin's forms (we have no ORM relationships): add
    them as plain id fields."""
    return type(f"{form.__name__}WithIds", (form,), fields)


def _schema_at_field(_form: Form, field: Field) -> None:
    """The API's schema rule, shown under the field (the form keeps what was typed)."""
    if not (field.data or "").strip():
        return  # blank: the service's default schema (or its message)
    try:
        check_json_schema(field.data)
    except AppError as exc:
        raise ValidationError(exc.detail.removeprefix("input_schema: ")) from exc


def _name_select(label: str, options: list[tuple[str, str]]) -> SelectField:
    """A relationship chosen by name (searchable in the page: admin_form_*.html)."""
    return SelectField(
        label, choices=options, validate_choice=False, render_kw={"data-role": "searchable"}
    )


async def _with_model_select(view: ModelView, form: type[Form], field: str) -> type[Form]:
    """The model (stored as its `provider_model_name`) chosen by name, in the place of the
    text box sqladmin made; empty means the default model."""
    async with view.session_maker() as session:
        models = await readable.choices(session, "model", blank="(default model)")
    select = _name_select(getattr(form, field).kwargs.get("label") or "Model", models)
    select.creation_counter = getattr(form, field).creation_counter  # keep its place
    return _with_fields(form, **{field: select})


def _capabilities_field() -> SelectMultipleField:
    """One checkbox per capability; the service refuses none checked with the reason."""
    return SelectMultipleField(
        "Capabilities",
        choices=[(c.value, c.value) for c in ModelCapability],
        default=[ModelCapability.chat.value],
        description=(
            "transcription and speech: the active models with them do voice; image: draws; "
            "embedding: recall by meaning"
        ),
        widget=widgets.ListWidget(prefix_label=False),
        option_widget=widgets.CheckboxInput(),
    )


def _price_field(label: str) -> StringField:
    """A number the service checks (0..1 000 000); blank: the model is not priced."""
    return StringField(label, description="money per million tokens, for experiments' cost")


def _checked(values: object) -> list[object]:
    """The boxes checked in a multiple choice (none: an empty list)."""
    return list(values) if isinstance(values, Iterable) else []


def _listed(values: Iterable[object] | None) -> str:
    return ", ".join(str(v) for v in values or [])


def _truncated_cell(model: object, attribute: str) -> Markup | str:
    return readable.truncated(getattr(model, attribute, None))


class _ReadableView(ModelView):
    """Headers as words, names for ids (`name_columns`: attribute -> kind) in lists and on
    detail pages, times to the second, long text (`text_columns`) cut in lists with the whole
    on hover (the detail page shows it whole)."""

    name_columns: ClassVar[dict[str, str]] = {}
    text_columns: ClassVar[tuple[str, ...]] = ()
    column_type_formatters: ClassVar[Any] = {**BASE_FORMATTERS, datetime: readable.when}
    column_type_formatters_detail: ClassVar[Any] = column_type_formatters

    def __init__(self) -> None:
        named: dict[Any, Any] = dict.fromkeys(self.name_columns, readable.named)
        shown = named | dict.fromkeys(self.text_columns, _truncated_cell)
        # Per view, before sqladmin reads them.
        self.column_formatters = {**shown, **type(self).column_formatters}  # type: ignore[misc]
        detail = {**named, **type(self).column_formatters_detail}
        self.column_formatters_detail = detail  # type: ignore[misc]
        super().__init__()
        words = {name: readable.word_label(name) for name in self._prop_names}
        self._column_labels = {**words, **self._column_labels}
        self._column_labels_value_by_key = {v: k for k, v in self._column_labels.items()}

    async def list(self, request: Request) -> Pagination:
        pagination = await super().list(request)
        if self.name_columns:
            async with self.session_maker() as session:
                await readable.load_names(session, self.name_columns, pagination.rows)
        return pagination

    def _names_a_row(self, pk: str) -> bool:
        """Whether an id from the address could name a row: one that cannot (`not-a-uuid`, a
        number past bigint) is a 404, not a 500 from reading it."""
        try:
            values = object_identifier_values(pk, self.model)
        except ValueError:
            return False
        return all(not isinstance(v, int) or abs(v) <= BIGINT_MAX for v in values)

    async def get_object_for_edit(self, request: Request) -> object:
        if not self._names_a_row(request.path_params["pk"]):
            return None
        return await super().get_object_for_edit(request)

    async def get_object_for_details(self, request: Request) -> object:
        if not self._names_a_row(request.path_params["pk"]):
            return None
        found = await super().get_object_for_details(request)
        if found is not None and self.name_columns:
            async with self.session_maker() as session:
                await readable.load_names(session, self.name_columns, [found])
        return found


class _ServiceView(_ReadableView):
    """Defaults every table shares."""

    page_size = LIST_PAGE_SIZE
    can_export = False
    column_default_sort: ClassVar[tuple[str, bool]] = ("updated_at", True)


class _TrackedView(_ServiceView):
    """Tables whose changes the history records: a "Change history" button per object."""

    history_entity: ClassVar[str] = ""

    @action(name="history", label="Change history", add_in_list=False, add_in_detail=True)
    async def show_history(self, request: Request) -> Response:
        pk = request.query_params.get("pks", "").split(",")[0]
        url = request.url_for("admin:view-history").include_query_params(
            entity=self.history_entity, entity_id=pk
        )
        return RedirectResponse(str(url), status_code=303)


CreateT = TypeVar("CreateT", bound=SQLModel)
UpdateT = TypeVar("UpdateT", bound=SQLModel)
SavedT = TypeVar("SavedT")


class _Delete(Protocol):
    def __call__(self, ctx: UnitOfWork, key: uuid.UUID, /, cascade: bool) -> Awaitable[None]: ...


@dataclass(frozen=True)
class _Service(Generic[CreateT, UpdateT, SavedT]):
    """A table's create, edit and delete in the service layer, with the API's bodies."""

    create_body: type[CreateT]
    create: Callable[[UnitOfWork, CreateT], Awaitable[SavedT]]
    update_body: type[UpdateT]
    update: Callable[[UnitOfWork, uuid.UUID, UpdateT], Awaitable[SavedT]]
    delete: _Delete


class _ServiceTableView(_TrackedView, Generic[CreateT, UpdateT, SavedT]):
    """Create, edit and delete go through `service`: the form's data, cleaned, is validated
    into the API's bodies; a delete refuses a row that others still use (no cascade)."""

    service: _Service[CreateT, UpdateT, SavedT]

    def _clean(self, data: FormData) -> FormData:
        return data

    async def _row(self, ctx: UnitOfWork, saved: SavedT) -> object:
        """The row sqladmin redirects to (by its mapped primary key)."""
        return saved

    async def insert_model(self, request: Request, data: FormData) -> object:
        async with admin_ctx(self, request) as ctx:
            create = self.service.create_body.model_validate(self._clean(data))
            return await self._row(ctx, await self.service.create(ctx, create))

    async def update_model(self, request: Request, pk: str, data: FormData) -> object:
        async with admin_ctx(self, request) as ctx:
            update = self.service.update_body.model_validate(self._clean(data))
            return await self._row(ctx, await self.service.update(ctx, uuid.UUID(pk), update))

    async def delete_model(self, request: Request, pk: str) -> None:
        async with admin_ctx(self, request) as ctx:
            await self.service.delete(ctx, uuid.UUID(pk), cascade=False)


class AssistantAdmin(
    _ServiceTableView[AssistantCreate, AssistantUpdate, Assistant], model=Assistant
):
    name = "Assistant"
    history_entity = "assistant"
    name_plural = "Assistants"
    icon = "fa-solid fa-user-tie"
    column_list: ClassVar[Any] = [
        Assistant.name,
        Assistant.is_secretary,
        Assistant.model,
        Assistant.assistant_type,
        Assistant.is_active,
        Assistant.updated_at,
    ]
    column_searchable_list: ClassVar[Any] = [Assistant.name, Assistant.instructions]
    column_filters: ClassVar[list[BooleanFilter]] = [
        BooleanFilter("is_active"),
        BooleanFilter("is_secretary"),
    ]
    form_columns: ClassVar[Any] = [
        Assistant.name,
        Assistant.is_secretary,
        Assistant.model,
        Assistant.instructions,
        Assistant.assistant_type,
        Assistant.openai_assistant_id,
        Assistant.is_active,
        Assistant.feedback_buttons,
    ]
    form_widget_args: ClassVar[dict[str, HtmlAttributes]] = {
        "instructions": {"rows": 24, "style": "font-family: monospace"}
    }
    create_template = "admin_form_create.html"
    edit_template = "admin_form_edit.html"

    async def scaffold_form(self, rules: list[str] | None = None) -> type[Form]:
        return await _with_model_select(self, await super().scaffold_form(rules), "model")

    service = _Service(
        AssistantCreate,
        assistants.create_assistant,
        AssistantUpdate,
        assistants.update_assistant,
        assistants.delete_assistant,
    )

    def _clean(self, data: FormData) -> FormData:
        return _blank_to_none(data, "model", "openai_assistant_id")


class ToolAdmin(_ServiceTableView[ToolCreate, ToolUpdate, Tool], model=Tool):
    name = "Tool"
    text_columns = ("description",)
    #: A `sub_assistant` tool's assistant, on its detail page.
    name_columns: ClassVar[dict[str, str]] = {"assistant_id": "assistant"}
    history_entity = "tool"
    name_plural = "Tools"
    icon = "fa-solid fa-screwdriver-wrench"
    column_list: ClassVar[Any] = [
        Tool.name,
        Tool.tool_type,
        Tool.description,
        Tool.is_active,
        Tool.updated_at,
    ]
    column_searchable_list: ClassVar[Any] = [Tool.name, Tool.description]
    column_filters: ClassVar[list[BooleanFilter]] = [BooleanFilter("is_active")]
    form_columns: ClassVar[Any] = [
        Tool.name,
        Tool.tool_type,
        Tool.description,
        Tool.input_schema,
        Tool.config,
        Tool.is_active,
    ]
    form_widget_args: ClassVar[dict[str, HtmlAttributes]] = {
        "input_schema": {"rows": 16, "style": "font-family: monospace"},
        # An mcp tool's server (the form's help text says the shape).
        "config": {"rows": 4, "style": "font-family: monospace"},
    }

    create_template = "admin_form_create.html"
    edit_template = "admin_form_edit.html"
    form_args: ClassVar[dict[str, FieldArguments]] = {
        "input_schema": {"validators": [_schema_at_field]},
        "config": {
            "description": 'mcp tools only: {"transport": "http", "url": "https://…/mcp"} or '
            '{"transport": "stdio", "server": "<a name the operator lists in '
            'MCP_STDIO_SERVERS>"}; never a command. Add "writing": ["<function>", …] for '
            "the functions that store or remove something: after outside content they wait "
            "for the user's Yes"
        },
    }

    service = _Service(
        ToolCreate, tools.create_tool, ToolUpdate, tools.update_tool, tools.delete_tool
    )

    async def scaffold_form(self, rules: list[str] | None = None) -> type[Form]:
        form = await super().scaffold_form(rules)
        async with self.session_maker() as session:
            answerers = await readable.choices(session, "assistant", blank="(none)")
        label = "Sub-assistant (sub_assistant tools)"
        return _with_fields(form, assistant_id=_name_select(label, answerers))

    async def get_form_data_for_edit(self, obj: Tool) -> FormData:
        data = await super().get_form_data_for_edit(obj)
        schema = readable.pretty_json(obj.input_schema)
        answerer = str(obj.assistant_id) if obj.assistant_id else ""
        return {**data, "assistant_id": answerer, "input_schema": schema}

    def _clean(self, data: FormData) -> FormData:
        cleaned = dict(data)
        cleaned["assistant_id"] = _uuid_or_none(data.get("assistant_id"))
        return cleaned


class LinkAdmin(_TrackedView, model=AssistantToolLink):
    name = "Assistant tool"
    history_entity = "link"
    name_plural = "Assistant tools"
    icon = "fa-solid fa-link"
    column_list: ClassVar[Any] = [
        AssistantToolLink.assistant_id,
        AssistantToolLink.tool_id,
        AssistantToolLink.sub_assistant_id,
        AssistantToolLink.is_active,
        AssistantToolLink.updated_at,
    ]
    column_filters: ClassVar[list[BooleanFilter]] = [BooleanFilter("is_active")]
    form_columns: ClassVar[Any] = [AssistantToolLink.is_active]

    name_columns: ClassVar[dict[str, str]] = {
        "assistant_id": "assistant",
        "tool_id": "tool",
        "sub_assistant_id": "assistant",
    }
    create_template = "admin_form_create.html"
    edit_template = "admin_form_edit.html"

    async def scaffold_form(self, rules: list[str] | None = None) -> type[Form]:
        form = await super().scaffold_form(rules)
        async with self.session_maker() as session:
            assistants_ = await readable.choices(session, "assistant")
            tools_ = await readable.choices(session, "tool")
            answerers = await readable.choices(session, "assistant", blank="(none)")
        return _with_fields(
            form,
            assistant_id=_name_select("Assistant", assistants_),
            tool_id=_name_select("Tool", tools_),
            sub_assistant_id=_name_select(
                "Sub-assistant that answers (sub_assistant tools)", answerers
            ),
        )

    async def get_form_data_for_edit(self, obj: AssistantToolLink) -> FormData:
        data = await super().get_form_data_for_edit(obj)
        ids = ("assistant_id", "tool_id", "sub_assistant_id")
        return {**data, **{k: str(getattr(obj, k)) if getattr(obj, k) else "" for k in ids}}

    async def insert_model(self, request: Request, data: FormData) -> AssistantToolLink:
        fields = {
            **data,
            "assistant_id": _uuid_or_none(data.get("assistant_id")),
            "tool_id": _uuid_or_none(data.get("tool_id")),
            "sub_assistant_id": _uuid_or_none(data.get("sub_assistant_id")),
        }
        async with admin_ctx(self, request) as ctx:
            return await links.create_link(ctx, AssistantToolLinkCreate.model_validate(fields))

    async def update_model(self, request: Request, pk: str, data: FormData) -> AssistantToolLink:
        """A link's pair is fixed (delete it and make another); its state and answerer change."""
        async with admin_ctx(self, request) as ctx:
            return await links.update_link(
                ctx,
                uuid.UUID(pk),
                is_active=bool(data.get("is_active")),
                sub_assistant_id=_uuid_or_none(data.get("sub_assistant_id")),
            )

    async def delete_model(self, request: Request, pk: str) -> None:
        async with admin_ctx(self, request) as ctx:
            await links.delete_link(ctx, uuid.UUID(pk))


class ProviderAdmin(
    _ServiceTableView[ProviderCreate, ProviderUpdate, LLMProvider], model=LLMProvider
):
    name = "LLM provider"
    history_entity = "provider"
    name_plural = "LLM providers"
    icon = "fa-solid fa-server"
    column_list: ClassVar[Any] = [
        LLMProvider.name,
        LLMProvider.base_url,
        LLMProvider.api_key_masked,
        LLMProvider.is_active,
        LLMProvider.updated_at,
    ]
    column_details_exclude_list: ClassVar[Any] = [LLMProvider.api_key_encrypted]
    column_searchable_list: ClassVar[Any] = [LLMProvider.name, LLMProvider.base_url]
    column_filters: ClassVar[list[BooleanFilter]] = [BooleanFilter("is_active")]
    column_labels: ClassVar[Any] = {LLMProvider.api_key_masked: "API key"}
    form_columns: ClassVar[Any] = [LLMProvider.name, LLMProvider.base_url, LLMProvider.is_active]
    service = _Service(
        ProviderCreate,
        providers.create_provider,
        ProviderUpdate,
        providers.update_provider,
        providers.delete_provider,
    )

    async def scaffold_form(self, rules: list[str] | None = None) -> type[Form]:
        form = await super().scaffold_form(rules)
        key = PasswordField(
            "API key",
            description="write-only: empty keeps the stored key (needed to change the base URL)",
        )
        return _with_fields(form, api_key=key)

    def _clean(self, data: FormData) -> FormData:
        cleaned = dict(data)
        if not cleaned.get("api_key"):
            cleaned.pop("api_key", None)  # write-only: empty keeps the stored key
        return cleaned


class ModelAdmin(_ServiceTableView[LLMModelCreate, LLMModelUpdate, LLMModelPublic], model=LLMModel):
    name_columns: ClassVar[dict[str, str]] = {"provider_id": "provider"}
    name = "LLM model"
    history_entity = "model"
    name_plural = "LLM models"
    icon = "fa-solid fa-brain"
    column_list: ClassVar[Any] = [
        LLMModel.provider_model_name,
        LLMModel.display_name,
        LLMModel.provider_id,
        LLMModel.capabilities,
        LLMModel.is_default,
        LLMModel.is_fallback,
        LLMModel.is_active,
    ]
    column_formatters: ClassVar[Any] = {
        LLMModel.capabilities: lambda m, _attr: _listed(m.capabilities)
    }
    column_formatters_detail: ClassVar[Any] = column_formatters
    column_searchable_list: ClassVar[Any] = [LLMModel.provider_model_name, LLMModel.display_name]
    column_filters: ClassVar[list[BooleanFilter]] = [
        BooleanFilter("is_active"),
        BooleanFilter("is_default"),
    ]
    form_columns: ClassVar[Any] = [
        LLMModel.provider_model_name,
        LLMModel.display_name,
        LLMModel.is_default,
        LLMModel.is_fallback,
        LLMModel.is_active,
    ]

    create_template = "admin_form_create.html"
    edit_template = "admin_form_edit.html"
    service = _Service(
        LLMModelCreate,
        llm_models.create_model,
        LLMModelUpdate,
        llm_models.update_model,
        llm_models.delete_model,
    )

    async def scaffold_form(self, rules: list[str] | None = None) -> type[Form]:
        form = await super().scaffold_form(rules)
        async with self.session_maker() as session:
            providers_ = await readable.choices(session, "provider")
        return _with_fields(
            form,
            provider_id=_name_select("Provider", providers_),
            capabilities=_capabilities_field(),
            input_price=_price_field("Input price"),
            output_price=_price_field("Output price"),
        )

    def _clean(self, data: FormData) -> FormData:
        cleaned = _blank_to_none(data, "display_name", "input_price", "output_price")
        cleaned["provider_id"] = _uuid_or_none(data.get("provider_id"))
        cleaned["capabilities"] = _checked(data.get("capabilities"))
        return cleaned

    async def get_form_data_for_edit(self, obj: LLMModel) -> FormData:
        """The added fields are no columns of the form: fill them from the row too."""
        data = await super().get_form_data_for_edit(obj)
        prices = {
            name: "" if getattr(obj, name) is None else str(getattr(obj, name))
            for name in ("input_price", "output_price")
        }
        return {
            **data,
            **prices,
            "provider_id": str(obj.provider_id),
            "capabilities": obj.capabilities,
        }

    async def _row(self, ctx: UnitOfWork, saved: LLMModelPublic) -> LLMModel:
        """The row, not the API's view of it."""
        row = await ctx.session.get(LLMModel, saved.id)
        assert row is not None
        return row


class UserAdmin(_ServiceView, model=User):
    """Users come from Telegram; the admin sets their timezone and model, or blocks them.
    Deleting one is `/forget` (their data goes with them)."""

    name = "User"
    name_plural = "Users"
    icon = "fa-solid fa-users"
    can_create = False
    column_list: ClassVar[Any] = [
        User.telegram_id,
        User.username,
        User.first_name,
        User.timezone,
        User.preferred_model,
        User.voice_replies,
        User.blocked,
        User.created_at,
    ]
    column_searchable_list: ClassVar[Any] = [User.username, User.first_name]
    column_filters: ClassVar[list[BooleanFilter]] = [BooleanFilter("blocked")]
    #: The user's own page (reminders, calendar, usage, actions): pages.UserPageView.
    column_formatters: ClassVar[Any] = {
        User.telegram_id: lambda m, _a: Markup('<a class="user-page" href="{}">{}</a>').format(
            f"{ADMIN_BASE}/users/{m.id}", m.telegram_id if m.telegram_id is not None else "—"
        )
    }
    form_columns: ClassVar[Any] = [
        User.username,
        User.first_name,
        User.language,
        User.timezone,
        User.preferred_model,
        User.voice_replies,
        User.blocked,
    ]
    edit_template = "admin_form_edit.html"

    async def scaffold_form(self, rules: list[str] | None = None) -> type[Form]:
        form = await super().scaffold_form(rules)
        return await _with_model_select(self, form, "preferred_model")

    async def update_model(self, request: Request, pk: str, data: FormData) -> User:
        cleaned = _blank_to_none(data, "username", "first_name", "language", "timezone")
        cleaned = _blank_to_none(cleaned, "preferred_model")
        async with admin_ctx(self, request) as ctx:
            return await users.update_user(ctx, uuid.UUID(pk), UserUpdate.model_validate(cleaned))

    async def delete_model(self, request: Request, pk: str) -> None:
        async with admin_ctx(self, request) as ctx:
            await users.forget_user(ctx, uuid.UUID(pk))


class CronJobAdmin(_ServiceView, model=CronJob):
    """Reminders are made in chat; the admin pauses, edits or cancels them."""

    name = "Cron job"
    name_plural = "Cron jobs"
    name_columns: ClassVar[dict[str, str]] = {"user_id": "user"}
    icon = "fa-solid fa-clock"
    can_create = False
    column_list: ClassVar[Any] = [
        CronJob.name,
        CronJob.type,
        CronJob.user_id,
        CronJob.cron_expression,
        CronJob.run_at,
        CronJob.timezone,
        CronJob.status,
        CronJob.next_run_at,
    ]
    column_searchable_list: ClassVar[Any] = [CronJob.name, CronJob.text]
    column_default_sort: ClassVar[tuple[str, bool]] = ("next_run_at", False)
    form_columns: ClassVar[Any] = [
        CronJob.name,
        CronJob.text,
        CronJob.prompt,
        CronJob.cron_expression,
        CronJob.run_at,
        CronJob.timezone,
        CronJob.status,
    ]

    async def update_model(self, request: Request, pk: str, data: FormData) -> CronJob:
        # run_at comes zone-aware: sqladmin reads a timestamptz field's time as UTC.
        cleaned = _blank_to_none(data, "text", "prompt", "cron_expression", "timezone")
        async with admin_ctx(self, request) as ctx:
            job_id = uuid.UUID(pk)
            current = await cron_jobs.get_job(ctx, job_id)
            changes = {k: v for k, v in cleaned.items() if getattr(current, k, None) != v}
            return await cron_jobs.update_job(ctx, job_id, CronJobUpdate.model_validate(changes))

    async def delete_model(self, request: Request, pk: str) -> None:
        async with admin_ctx(self, request) as ctx:
            await cron_jobs.delete_job(ctx, uuid.UUID(pk))


class CronJobRunAdmin(_ReadableView, model=CronJobRun):
    """What happened to each fire: read-only (cron_service writes them)."""

    name = "Cron job run"
    name_plural = "Cron job runs"
    name_columns: ClassVar[dict[str, str]] = {"job_id": "cron_job"}
    text_columns = ("error",)
    icon = "fa-solid fa-list-check"
    can_create = False
    can_edit = False
    can_delete = False
    can_export = False
    page_size = LIST_PAGE_SIZE
    column_list: ClassVar[Any] = [
        CronJobRun.job_id,
        CronJobRun.scheduled_for,
        CronJobRun.delivered_at,
        CronJobRun.outcome,
        CronJobRun.error,
    ]
    column_default_sort: ClassVar[tuple[str, bool]] = ("scheduled_for", True)
    column_searchable_list: ClassVar[Any] = [CronJobRun.error]


class ProfileFactAdmin(_ReadableView, model=ProfileFact):
    """What users told the assistant about themselves: the admin reads or deletes them; only
    the user adds them (in chat)."""

    name = "Profile fact"
    name_plural = "Profile facts"
    name_columns: ClassVar[dict[str, str]] = {"user_id": "user"}
    text_columns = ("text",)
    icon = "fa-solid fa-address-card"
    can_create = False
    can_edit = False
    can_export = False
    page_size = LIST_PAGE_SIZE
    column_list: ClassVar[Any] = [ProfileFact.user_id, ProfileFact.text, ProfileFact.created_at]
    column_details_exclude_list: ClassVar[Any] = [ProfileFact.text_key]
    column_default_sort: ClassVar[tuple[str, bool]] = ("created_at", True)
    column_searchable_list: ClassVar[Any] = [ProfileFact.text]

    async def delete_model(self, request: Request, pk: str) -> None:
        async with admin_ctx(self, request) as ctx:
            fact = await ctx.session.get(ProfileFact, uuid.UUID(pk))
            if fact is not None:
                await profile_facts.delete_fact(ctx, fact.user_id, fact.id)


class KnowledgeAdmin(_ServiceView, model=KnowledgeArticle):
    """What a business's assistant answers from: written here or imported (the API's
    `POST /api/knowledge/import`). Writes go through the service layer; articles are data,
    so no write bumps the config version."""

    name = "Knowledge article"
    name_plural = "Knowledge"
    name_columns: ClassVar[dict[str, str]] = {"assistant_id": "assistant"}
    text_columns = ("body",)
    icon = "fa-solid fa-book"
    column_list: ClassVar[Any] = [
        KnowledgeArticle.title,
        KnowledgeArticle.assistant_id,
        KnowledgeArticle.language,
        KnowledgeArticle.source,
        KnowledgeArticle.is_active,
        KnowledgeArticle.updated_at,
    ]
    column_details_exclude_list: ClassVar[Any] = [KnowledgeArticle.search_vector]
    column_searchable_list: ClassVar[Any] = [KnowledgeArticle.title, KnowledgeArticle.body]
    column_filters: ClassVar[list[BooleanFilter]] = [BooleanFilter("is_active")]
    form_columns: ClassVar[Any] = [
        KnowledgeArticle.title,
        KnowledgeArticle.body,
        KnowledgeArticle.language,
        KnowledgeArticle.source,
        KnowledgeArticle.is_active,
    ]
    form_widget_args: ClassVar[dict[str, HtmlAttributes]] = {"body": {"rows": 20}}
    create_template = "admin_form_create.html"
    edit_template = "admin_form_edit.html"

    async def scaffold_form(self, rules: list[str] | None = None) -> type[Form]:
        form = await super().scaffold_form(rules)
        async with self.session_maker() as session:
            owners = await readable.choices(session, "assistant", blank="(every assistant)")
        return _with_fields(
            form,
            assistant_id=_name_select("Assistant", owners),
            tags=StringField("Tags", description="comma-separated"),
        )

    async def get_form_data_for_edit(self, obj: KnowledgeArticle) -> FormData:
        data = await super().get_form_data_for_edit(obj)
        owner = str(obj.assistant_id) if obj.assistant_id else ""
        return {**data, "assistant_id": owner, "tags": _listed(obj.tags)}

    def _clean(self, data: FormData) -> FormData:
        cleaned = _blank_to_none(data, "language")
        tags = str(cleaned.get("tags") or "")
        return {
            **cleaned,
            "assistant_id": _uuid_or_none(cleaned.get("assistant_id")),
            "source": cleaned.get("source") or "manual",
            "tags": [tag for tag in tags.split(",") if tag.strip()],
        }

    async def insert_model(self, request: Request, data: FormData) -> KnowledgeArticle:
        async with admin_ctx(self, request) as ctx:
            body = KnowledgeArticleCreate.model_validate(self._clean(data))
            return await knowledge.create_article(ctx, body)

    async def update_model(self, request: Request, pk: str, data: FormData) -> KnowledgeArticle:
        async with admin_ctx(self, request) as ctx:
            body = KnowledgeArticleUpdate.model_validate(self._clean(data))
            return await knowledge.update_article(ctx, uuid.UUID(pk), body)

    async def delete_model(self, request: Request, pk: str) -> None:
        async with admin_ctx(self, request) as ctx:
            await knowledge.delete_article(ctx, uuid.UUID(pk))


def _price_with_currency(item: object, _attribute: object) -> str:
    assert isinstance(item, CatalogueItem)
    return f"{catalogue.public(item).price} {item.currency}"


class CatalogueAdmin(_ServiceView, model=CatalogueItem):
    """A business's services and products (docs/admin.md "Catalogue"); writes go through
    the API's service layer. Export and import: the Catalogue transfer page."""

    name = "Catalogue item"
    name_plural = "Catalogue"
    icon = "fa-solid fa-tags"
    name_columns: ClassVar[dict[str, str]] = {"assistant_id": "assistant"}
    text_columns = ("description",)
    column_list: ClassVar[Any] = [
        CatalogueItem.name,
        CatalogueItem.assistant_id,
        CatalogueItem.sku,
        CatalogueItem.price,
        CatalogueItem.available,
        CatalogueItem.stock,
        CatalogueItem.tags,
        CatalogueItem.is_active,
        CatalogueItem.updated_at,
    ]
    column_labels: ClassVar[Any] = {CatalogueItem.assistant_id: "Assistant (none: shared)"}
    column_formatters: ClassVar[Any] = {
        CatalogueItem.price: _price_with_currency,
        CatalogueItem.tags: lambda m, a: _listed(getattr(m, "tags", None)),
    }
    column_formatters_detail: ClassVar[Any] = column_formatters
    column_details_exclude_list: ClassVar[Any] = [CatalogueItem.search_vector]
    column_searchable_list: ClassVar[Any] = [
        CatalogueItem.name,
        CatalogueItem.sku,
        CatalogueItem.description,
    ]
    column_sortable_list: ClassVar[Any] = [
        CatalogueItem.name,
        CatalogueItem.price,
        CatalogueItem.updated_at,
    ]
    column_filters: ClassVar[list[BooleanFilter]] = [
        BooleanFilter("available"),
        BooleanFilter("is_active"),
    ]
    form_columns: ClassVar[Any] = [
        CatalogueItem.sku,
        CatalogueItem.name,
        CatalogueItem.description,
        CatalogueItem.price,
        CatalogueItem.currency,
        CatalogueItem.duration_minutes,
        CatalogueItem.available,
        CatalogueItem.stock,
        CatalogueItem.is_active,
    ]
    form_args: ClassVar[dict[str, FieldArguments]] = {
        "currency": {"description": "ISO 4217 code: EUR, USD, RUB, …"},
        "price": {"description": "no more decimals than the currency has (JPY none)"},
    }
    create_template = "admin_form_create.html"
    edit_template = "admin_form_edit.html"

    async def scaffold_form(self, rules: list[str] | None = None) -> type[Form]:
        form = await super().scaffold_form(rules)
        async with self.session_maker() as session:
            owners = await readable.choices(session, "assistant", blank="(shared)")
        tags = StringField("Tags", description="separated by commas")
        return _with_fields(
            form, assistant_id=_name_select("Assistant (its business)", owners), tags=tags
        )

    async def get_form_data_for_edit(self, obj: CatalogueItem) -> FormData:
        data = await super().get_form_data_for_edit(obj)
        owner = str(obj.assistant_id) if obj.assistant_id else ""
        return {**data, "assistant_id": owner, "tags": ", ".join(obj.tags)}

    def _clean(self, data: FormData) -> FormData:
        cleaned = _blank_to_none(data, "sku", "duration_minutes", "stock")
        cleaned["assistant_id"] = _uuid_or_none(data.get("assistant_id"))
        cleaned["tags"] = [t for t in str(data.get("tags") or "").split(",") if t.strip()]
        cleaned["description"] = data.get("description") or ""
        return cleaned

    async def insert_model(self, request: Request, data: FormData) -> object:
        async with admin_ctx(self, request) as ctx:
            made = await catalogue.create_item(
                ctx, CatalogueItemCreate.model_validate(self._clean(data))
            )
            return await catalogue.get_item(ctx, made.id)

    async def update_model(self, request: Request, pk: str, data: FormData) -> object:
        async with admin_ctx(self, request) as ctx:
            changes = CatalogueItemUpdate.model_validate(self._clean(data))
            await catalogue.update_item(ctx, uuid.UUID(pk), changes)
            return await catalogue.get_item(ctx, uuid.UUID(pk))

    async def delete_model(self, request: Request, pk: str) -> None:
        async with admin_ctx(self, request) as ctx:
            await catalogue.delete_item(ctx, uuid.UUID(pk))


VIEWS: tuple[type[ModelView], ...] = (
    AssistantAdmin,
    ToolAdmin,
    LinkAdmin,
    ProviderAdmin,
    ModelAdmin,
    UserAdmin,
    CronJobAdmin,
    CronJobRunAdmin,
    ProfileFactAdmin,
    KnowledgeAdmin,
    CatalogueAdmin,
)
