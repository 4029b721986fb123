"""Serves the static pages: the landing page now; chat, agent desk and dashboard later."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

STATIC_DIR = Path(__file__).resolve().parent / "static"
router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
async def get_index() -> HTMLResponse:
    """The landing page with links to what this process serves."""
    return HTMLResponse((STATIC_DIR / "index.html").read_text(encoding="utf-8"))
