"""The versioned API: each domain's router, included by the app under /api/v1."""

from __future__ import annotations

from fastapi import APIRouter

from app.agents.router import router as agents_router
from app.auth.router import router as auth_router
from app.calls.router import router as calls_router
from app.canned.router import router as canned_router
from app.channels.chat.router import router as chat_router
from app.dispositions.router import router as dispositions_router
from app.interactions.router import router as interactions_router
from app.presence.router import router as presence_router
from app.queues.router import router as queues_router
from app.reports.router import router as reports_router
from app.skills.router import router as skills_router
from app.stats.router import router as stats_router
from app.supervisors.router import audit_router
from app.supervisors.router import router as supervisor_router
from app.users.router import router as users_router
from app.webhooks.router import router as webhooks_router

API_PREFIX = "/api/v1"
# Each domain's router is included in the app itself under API_PREFIX, not through one
# /api/v1 router: every nesting level is matched again on every request, and routing was
# about a tenth of a create's time at the service's ceiling.
API_ROUTERS: tuple[APIRouter, ...] = (
    auth_router,
    interactions_router,
    chat_router,
    calls_router,
    presence_router,
    stats_router,
    supervisor_router,
    audit_router,
    reports_router,
    webhooks_router,
    agents_router,
    dispositions_router,
    canned_router,
    queues_router,
    skills_router,
    users_router,
)
