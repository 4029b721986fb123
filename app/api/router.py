"""The versioned API: each domain's router is mounted here under /api/v1."""

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

api_router = APIRouter(prefix="/api/v1")
api_router.include_router(auth_router)
api_router.include_router(interactions_router)
api_router.include_router(chat_router)
api_router.include_router(calls_router)
api_router.include_router(presence_router)
api_router.include_router(stats_router)
api_router.include_router(supervisor_router)
api_router.include_router(audit_router)
api_router.include_router(reports_router)
api_router.include_router(webhooks_router)
api_router.include_router(agents_router)
api_router.include_router(dispositions_router)
api_router.include_router(canned_router)
api_router.include_router(queues_router)
api_router.include_router(skills_router)
api_router.include_router(users_router)
