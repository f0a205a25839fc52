"""Who may call which rest_service route (docs/contract.md "REST routes", docs/security.md).
The checking itself is the shared bearer auth (common/infrastructure/web.py): every /api path needs
a known token."""

from __future__ import annotations

from fastapi import Depends, FastAPI
from starlette.applications import Starlette

from common.infrastructure import web
from common.infrastructure.service_tokens import Right, TokenTable
from rest_service.app.state import STATE

#: Paths that need a token; /health, /metrics, /docs, /openapi.json and /admin (its own
#: login) are outside.
PROTECTED_PREFIX = "/api"


def _tokens(app: Starlette) -> TokenTable:
    return STATE.of_app(app).tokens


def _protected(path: str) -> bool:
    return path.startswith(PROTECTED_PREFIX)


def install_auth(app: FastAPI) -> None:
    web.install_bearer_auth(app, _tokens, _protected)


#: Either token: what services need.
any_token = Depends(web.current_caller)
admin_only = Depends(web.require_admin)
#: The secret routes: the shared service token, or the one scoped token whose service needs it.
provider_keys_only = Depends(web.require_right(Right.provider_keys, "read provider keys"))
calendar_credentials_only = Depends(
    web.require_right(Right.calendar_credentials, "read calendar credentials")
)
bot_tokens_only = Depends(web.require_right(Right.bot_tokens, "read bot tokens"))
bot_runners_only = Depends(web.require_right(Right.bot_tokens, "record what getMe says"))
#: Get-or-create, link and unlink a channel's senders: the bots and the channels service.
identities_only = Depends(web.require_right(Right.identities, "link or unlink identities"))
#: Check an outside program's API key: the channels service, which serves those programs.
api_key_checkers_only = Depends(web.require_right(Right.api_clients, "check API keys"))
#: Queue a delivery to an API client's webhook: the channels service, and the admin (who
#: may send a client a test delivery).
api_client_deliverers = Depends(
    web.require_right(Right.api_clients, "queue API client deliveries", admin_too=True)
)
