"""The tables (one SQLModel metadata for Alembic) and the API models of each entity."""

from rest_service.app.models.admin_account import AdminAccount
from rest_service.app.models.api_client import ApiClient
from rest_service.app.models.assistant import Assistant, AssistantToolLink, Tool
from rest_service.app.models.bot import Bot
from rest_service.app.models.calendar import CalendarCredential
from rest_service.app.models.catalogue import CatalogueItem
from rest_service.app.models.config_state import ConfigState
from rest_service.app.models.contacts import Contact
from rest_service.app.models.cron import CronJob, CronJobAcknowledgement, CronJobRun
from rest_service.app.models.embedding import MessageEmbedding
from rest_service.app.models.experiment import Experiment, ExperimentAssignment, ExperimentVariant
from rest_service.app.models.feedback import Feedback
from rest_service.app.models.handoffs import Handoff
from rest_service.app.models.history import ConfigChange
from rest_service.app.models.identity import LinkCode, UserIdentity
from rest_service.app.models.invocation import ToolInvocation
from rest_service.app.models.knowledge import KnowledgeArticle
from rest_service.app.models.leads import Lead
from rest_service.app.models.llm import LLMModel, LLMProvider
from rest_service.app.models.pairing import Pairing
from rest_service.app.models.profile_fact import ProfileFact
from rest_service.app.models.task import GoogleTaskDeletion, GoogleTaskSync, Task
from rest_service.app.models.thread import ChatMessage, UserAssistantThread
from rest_service.app.models.thread_summary import ThreadSummary
from rest_service.app.models.user import User
from rest_service.app.models.webhook import Bitrix24Lead, WebhookDelivery, WebhookSubscription

__all__ = [
    "AdminAccount",
    "ApiClient",
    "Assistant",
    "AssistantToolLink",
    "Bitrix24Lead",
    "Bot",
    "CalendarCredential",
    "CatalogueItem",
    "ChatMessage",
    "ConfigChange",
    "ConfigState",
    "Contact",
    "CronJob",
    "CronJobAcknowledgement",
    "CronJobRun",
    "Experiment",
    "ExperimentAssignment",
    "ExperimentVariant",
    "Feedback",
    "GoogleTaskDeletion",
    "GoogleTaskSync",
    "Handoff",
    "KnowledgeArticle",
    "LLMModel",
    "LLMProvider",
    "Lead",
    "LinkCode",
    "MessageEmbedding",
    "Pairing",
    "ProfileFact",
    "Task",
    "ThreadSummary",
    "Tool",
    "ToolInvocation",
    "User",
    "UserAssistantThread",
    "UserIdentity",
    "WebhookDelivery",
    "WebhookSubscription",
]
