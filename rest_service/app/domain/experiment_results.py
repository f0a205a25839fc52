"""An experiment's figures per arm over its window (its start to its end, or now): people,
conversations, leads, tokens, cost and latency, each estimate with its 95% interval. Every
query groups by arm and, in the same statement, over all arms (`GROUPING SETS`), so the
totals are computed from the same rows as the arms they sum."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text

from common.infrastructure.clock import utcnow
from rest_service.app.domain.estimates import mean_interval, thumbs_up_rate, wilson
from rest_service.app.domain.experiments import get_experiment, public, variants_of
from rest_service.app.domain.unit_of_work import UnitOfWork
from rest_service.app.models.experiment import ExperimentResults, Figures, VariantResults

#: Per completion: tokens, latency and cost (at the model's prices when it has both).
_COMPLETIONS_SQL = text(
    "SELECT m.experiment_variant_id AS arm, count(*) AS completions, "
    "coalesce(sum(m.tokens_in), 0) AS tokens_in, coalesce(sum(m.tokens_out), 0) AS tokens_out, "
    "avg(t.tokens) AS tokens_mean, stddev_samp(t.tokens) AS tokens_sd, "
    "avg(m.latency_ms) AS latency_mean, stddev_samp(m.latency_ms) AS latency_sd, "
    "count(m.latency_ms) AS latency_n, "
    "percentile_cont(0.95) WITHIN GROUP (ORDER BY m.latency_ms) AS latency_p95, "
    "coalesce(sum(c.cost), 0) AS cost, avg(c.cost) AS cost_mean, "
    "stddev_samp(c.cost) AS cost_sd, count(c.cost) AS cost_n "
    "FROM chat_messages m LEFT JOIN llm_models lm ON lm.provider_model_name = m.model "
    "CROSS JOIN LATERAL (SELECT coalesce(m.tokens_in, 0) + coalesce(m.tokens_out, 0) "
    "AS tokens) t "
    "CROSS JOIN LATERAL (SELECT (coalesce(m.tokens_in, 0) * lm.input_price "
    "+ coalesce(m.tokens_out, 0) * lm.output_price) / 1e6 AS cost) c "
    "WHERE m.experiment_variant_id = ANY(:arms) AND m.role = 'assistant' "
    "GROUP BY GROUPING SETS ((m.experiment_variant_id), ())"
)
#: Per conversation an arm answered: its leads made in the window.
_CONVERSATIONS_SQL = text(
    "WITH conv AS (SELECT experiment_variant_id AS arm, conversation_key FROM chat_messages "
    "WHERE experiment_variant_id = ANY(:arms) AND role = 'assistant' GROUP BY 1, 2), "
    "lc AS (SELECT conversation_key, count(*) AS n FROM leads WHERE assistant_id = :assistant "
    "AND created_at >= :since AND created_at < :until GROUP BY 1) "
    "SELECT conv.arm, count(*) AS conversations, coalesce(sum(lc.n), 0) AS leads, "
    "avg(coalesce(lc.n, 0)) AS leads_mean, stddev_samp(coalesce(lc.n, 0)) AS leads_sd, "
    "count(lc.n) AS converted "
    "FROM conv LEFT JOIN lc USING (conversation_key) "
    "GROUP BY GROUPING SETS ((conv.arm), ())"
)
_PEOPLE_SQL = text(
    "SELECT variant_id AS arm, count(*) AS people FROM experiment_assignments "
    "WHERE experiment_id = :experiment GROUP BY GROUPING SETS ((variant_id), ())"
)

#: 👍 and 👎 given in the window to the assistant's answers by the arm's people (each keeps
#: one arm, and their ratings count from their assignment on): read through the assignment,
#: not the rated answer's row, which retention may have removed.
_FEEDBACK_SQL = text(
    "SELECT a.variant_id AS arm, count(*) FILTER (WHERE f.rating = 1) AS up, "
    "count(*) FILTER (WHERE f.rating = -1) AS down FROM feedback f "
    "JOIN experiment_assignments a ON a.user_id = f.user_id "
    "AND a.experiment_id = :experiment AND f.created_at >= a.created_at "
    "WHERE f.assistant_id = :assistant AND f.created_at >= :since AND f.created_at < :until "
    "GROUP BY GROUPING SETS ((a.variant_id), ())"
)


@dataclass(frozen=True)
class Window:
    since: datetime
    until: datetime


async def experiment_results(ctx: UnitOfWork, experiment_id: uuid.UUID) -> ExperimentResults:
    experiment = await get_experiment(ctx, experiment_id)
    variants = await variants_of(ctx.session, experiment.id)
    window = Window(experiment.started_at, experiment.ended_at or utcnow())
    arms = [v.id for v in variants]
    params = {
        "arms": arms,
        "assistant": experiment.assistant_id,
        "experiment": experiment.id,
        "since": window.since,
        "until": window.until,
    }
    rows: dict[uuid.UUID | None, dict[str, Any]] = {arm: {} for arm in [*arms, None]}
    for statement in (_COMPLETIONS_SQL, _CONVERSATIONS_SQL, _PEOPLE_SQL, _FEEDBACK_SQL):
        for row in (await ctx.session.execute(statement, params)).mappings():
            rows.setdefault(row["arm"], {}).update(row)
    return ExperimentResults(
        experiment=await public(ctx.session, experiment),
        since=window.since,
        until=window.until,
        variants=[
            VariantResults(
                variant_id=v.id,
                name=v.name,
                is_control=v.is_control,
                share=v.share,
                **figures(rows[v.id]).model_dump(),
            )
            for v in variants
        ],
        totals=figures(rows[None]),
    )


def figures(row: dict[str, Any]) -> Figures:
    """One arm's (or all arms') figures from its rows of the four queries; an arm nobody
    reached has none, and its figures are zeros with nothing to estimate."""

    def number(key: str) -> float | None:
        value = row.get(key)
        return float(value) if value is not None else None

    def whole(key: str) -> int:
        return int(row.get(key) or 0)

    conversations = whole("conversations")
    completions = whole("completions")
    return Figures(
        people=whole("people"),
        conversations=conversations,
        completions=completions,
        leads=whole("leads"),
        leads_per_conversation=mean_interval(
            number("leads_mean"), number("leads_sd"), conversations
        ),
        converted=wilson(whole("converted"), conversations),
        tokens_in=whole("tokens_in"),
        tokens_out=whole("tokens_out"),
        tokens_per_completion=mean_interval(
            number("tokens_mean"), number("tokens_sd"), completions
        ),
        cost=number("cost") or 0.0,
        cost_per_completion=mean_interval(number("cost_mean"), number("cost_sd"), whole("cost_n")),
        latency_ms=mean_interval(number("latency_mean"), number("latency_sd"), whole("latency_n")),
        p95_latency_ms=number("latency_p95"),
        thumbs_up=thumbs_up_rate(whole("up"), whole("down")),
    )
