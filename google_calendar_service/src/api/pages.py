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


def confirm_in_telegram_page(account: str) -> HTMLResponse:
    """Never "connected": whoever opened the link may not be the link's owner, so the
    connection waits for the owner's confirmation in their own Telegram chat."""
    who = f" {account}" if account else " this Google account"
    return page(
        "Confirm in Telegram",
        f"One more step: the assistant's owner must confirm{who} in Telegram, where the "
        "bot has asked them (the answer is /calendar confirm). Until then the assistant "
        "cannot use this calendar. You can close this window.",
    )


def rejected_page(detail: str, status_code: int = 400) -> HTMLResponse:
    return page(
        "Calendar not connected",
        f"{detail} Nothing was connected. Ask the bot for a new link with /calendar.",
        status_code,
    )
