"""The application as uvicorn imports it in each worker process.

`switchboard serve --workers N` runs `uvicorn app.asgi:app_from_environment --factory`: every
worker is a fresh process that imports this module and calls the factory, so the app is
built from the environment (the parent has exported its command-line overrides there) rather
than from settings passed in memory. Any ASGI server can be pointed at it the same way.
"""

from __future__ import annotations

from fastapi import FastAPI

from app.logs import configure_logging
from app.main import create_app
from app.runtime import collector
from app.settings import load_settings


def app_from_environment() -> FastAPI:
    """Read the settings, set up logging, and build the app: one call per worker process."""
    settings = load_settings()
    configure_logging(settings.log_level.value, settings.log_format.value)
    app = create_app(settings)
    collector.tune_for_service()
    return app
