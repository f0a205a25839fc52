"""The small pages the browser sees at the end of the OAuth flow."""

from __future__ import annotations

from html import escape

from fastapi.responses import HTMLResponse

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto}}</style>
</head><body><h1>{title}</h1><p>{text}</p></body></html>
"""


def page(title: str, text: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(
        _PAGE.format(title=escape(title), text=escape(text)),
        status_code=status_code,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def connected_page(account: str) -> HTMLResponse:
    who = f" as {account}" if account else ""
    return page(
        "Calendar connected",
        f"Google Calendar is connected{who}. You can close this window and go back to Telegram.",
    )


def rejected_page(detail: str, status_code: int = 400) -> HTMLResponse:
    return page(
        "Calendar not connected",
        f"{detail} Nothing was connected. Ask the bot for a new link with /calendar.",
        status_code,
    )
