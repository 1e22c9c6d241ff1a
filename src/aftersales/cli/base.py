"""What every command shares: the root Typer app, the console, the ``--lang`` option, the
context from settings, and how times, amounts and labels are printed."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.console import Console

from aftersales.domain.money import Money
from aftersales.services.context import Context
from aftersales.settings import Settings

app = typer.Typer(no_args_is_help=True, help="aftersales: after-sales and dispute resolution.")
console = Console()

Lang = Annotated[str | None, typer.Option("--lang", help="zh_CN or en (default: settings)")]


def settings_context() -> Context:
    return Context.from_settings(Settings())


def fmt_time(value: object, tz: str) -> str:
    if isinstance(value, datetime):
        return value.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")
    return "-"


def short(value: object) -> str:
    if isinstance(value, dict) and "amount" in value and "currency" in value:
        return f"{value['amount'] / 100:.2f} {value['currency']}"
    if isinstance(value, dict) and "tracking_number" in value:
        return f"{value.get('carrier')} {value['tracking_number']}"
    if isinstance(value, list):
        return "; ".join(short(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={short(v)}" for k, v in value.items())
    return "-" if value is None else str(value)


def parse_day(value: str, tz: str, name: str) -> datetime:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        console.print(f"[red]--{name}: expected YYYY-MM-DD, got {value!r}[/red]")
        raise typer.Exit(2) from None
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(tz))


def minor_text(minor: int, currency: str) -> str:
    """Minor units as the currency writes them (JPY has no decimals, KWD three)."""
    return Money(minor, currency).number()


def reason_label(code: str) -> str:
    from aftersales.domain.reasons import REASONS

    r = REASONS.get(code)
    return r.label if r else code
