"""Serves the static pages (landing page, claimant chat, agent desk, supervisor dashboard)
and their assets.

The pages are plain HTML, CSS and JavaScript files with no build step and nothing loaded
from another origin, so they work offline and can be embedded as an iframe.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse

STATIC_DIR = Path(__file__).resolve().parent / "static"
router = APIRouter(include_in_schema=False)


# Pages change with releases: browsers revalidate rather than keep a stale copy.
_REVALIDATE = {"Cache-Control": "no-cache"}


def _page(name: str) -> FileResponse:
    return FileResponse(STATIC_DIR / name, media_type="text/html", headers=_REVALIDATE)


@router.get("/", response_class=HTMLResponse)
async def get_index() -> FileResponse:
    """The landing page with links to what this process serves."""
    return _page("index.html")


@router.get("/chat", response_class=HTMLResponse)
async def get_chat_page() -> FileResponse:
    """The claimant's web chat (also embeddable as an iframe)."""
    return _page("chat.html")


@router.get("/agent", response_class=HTMLResponse)
async def get_agent_page() -> FileResponse:
    """The agent desk."""
    return _page("agent.html")


@router.get("/supervisor", response_class=HTMLResponse)
async def get_supervisor_page() -> FileResponse:
    """The supervisor dashboard."""
    return _page("supervisor.html")
