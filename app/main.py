"""`create_app(settings)`: the FastAPI application, its lifespan and its error handling."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app import __version__
from app.api import health
from app.api.router import api_router
from app.db.session import create_engine, create_session_factory
from app.errors import install_error_handlers
from app.middleware import BodySizeLimitMiddleware, RequestIdMiddleware
from app.realtime.bus import create_bus
from app.runtime import recovery
from app.runtime.service import RoutingService, bus_publisher, write_outbox
from app.runtime.worker import RoutingWorker
from app.settings import Settings, resolve_secret_key
from app.state import Resources
from app.web.router import router as web_router
from app.webhooks.dispatcher import WebhookDispatcher

logger = logging.getLogger(__name__)


def create_app(settings: Settings) -> FastAPI:
    """Build the app; nothing connects until the lifespan starts."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        secret_key = resolve_secret_key(settings)
        engine = create_engine(
            settings.effective_database_url, pool_size=settings.database_pool_size
        )
        bus = create_bus(settings.redis_url)
        sessions = create_session_factory(engine)
        webhooks = WebhookDispatcher(sessions)
        worker = RoutingWorker(
            sessions=sessions,
            rebuild=recovery.rebuild,
            publish=bus_publisher(bus, webhooks),
            outbox=write_outbox,
            sweep_interval_s=settings.sweep_interval_s,
        )
        app.state.resources = Resources(
            settings=settings,
            secret_key=secret_key,
            engine=engine,
            sessions=sessions,
            read_sessions=create_session_factory(
                engine.execution_options(isolation_level="AUTOCOMMIT")
            ),
            bus=bus,
            routing=RoutingService(worker),
            webhooks=webhooks,
        )
        await webhooks.start()
        await worker.start()
        logger.info(
            "switchboard %s ready: database=%s bus=%s",
            __version__,
            settings.database_backend,
            "redis" if settings.redis_url else "in-process",
        )
        try:
            yield
        finally:
            await worker.stop()
            await webhooks.stop()
            await bus.close()
            await engine.dispose()

    app = FastAPI(
        title="Switchboard",
        version=__version__,
        summary="Omnichannel contact-center routing: chat, voice, video and casework.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    # Added last runs first: the request id exists before the size check answers.
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_request_body_bytes)
    app.add_middleware(RequestIdMiddleware)
    app.include_router(health.router)
    app.include_router(api_router)
    app.include_router(web_router)
    return app
