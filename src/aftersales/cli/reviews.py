"""Product reviews and their R12.3 appeals: ``reviews appeals``, ``reviews decide``."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from aftersales.cli.base import Lang, app, console, settings_context
from aftersales.domain.i18n import N_
from aftersales.i18n import error_message, gettext, normalise_locale, translate

reviews_app = typer.Typer(no_args_is_help=True, help="Product reviews and R12.3 appeals.")
app.add_typer(reviews_app, name="reviews")


def _review_time(moment: datetime, tz: str) -> str:
    return f"{moment.astimezone(ZoneInfo(tz)):%Y-%m-%d %H:%M} {tz}"


@reviews_app.command("appeals")
def reviews_appeals(
    status: Annotated[
        str,
        typer.Option(
            help="pending (the agent queue: soonest decide-by first), upheld, "
            "dismissed or all (newest first)"
        ),
    ] = "pending",
    shop: Annotated[str | None, typer.Option(help="Only this shop's")] = None,
    lang: Lang = None,
) -> None:
    """Negative-review appeals (R12.3): the queue of pending ones by decide-by, or all."""
    from aftersales.domain.errors import DomainError
    from aftersales.domain.reviews import STATUS_LABELS, AppealStatus
    from aftersales.services import reviews as svc
    from aftersales.services.actors import Actor

    ctx = settings_context()
    loc = normalise_locale(lang or ctx.settings.locale)
    t = partial(gettext, locale=loc)
    if status != "all" and status not in set(AppealStatus):
        unknown = translate(N_("Unknown status {status}."), loc, status=status)
        console.print(f"[red]{unknown}[/red]")
        raise typer.Exit(2)
    wanted = None if status == "all" else AppealStatus(status)
    try:
        views = svc.list_appeals(
            ctx, Actor.platform("cli"), shop_code=shop, status=wanted, limit=svc.MAX_PAGE
        )
    except DomainError as err:
        console.print(f"[red]{error_message(err, loc)}[/red]")
        raise typer.Exit(1) from None
    if wanted is AppealStatus.PENDING:
        views.sort(key=lambda v: (v.decide_by, v.filed_at, v.id))
    table = Table()
    for col in (
        N_("Appeal"),
        N_("Shop"),
        N_("Order"),
        N_("SKU"),
        N_("Attempt"),
        N_("Status"),
        N_("Filed"),
        N_("Decide by"),
    ):
        table.add_column(t(col))
    for v in views:
        profile = ctx.profiles.current.get(v.profile_id)
        tz = profile.timezone if profile else "UTC"
        table.add_row(
            str(v.id),
            v.shop_code,
            v.order_number,
            v.sku,
            str(v.attempt),
            t(STATUS_LABELS[v.status]),
            _review_time(v.filed_at, tz),
            _review_time(v.decide_by - timedelta(seconds=1), tz),  # the day's last minute
        )
    console.print(table, highlight=False)
    console.print(translate(N_("{count} review appeal(s)"), loc, count=len(views)))


@reviews_app.command("decide")
def reviews_decide(
    appeal_id: Annotated[int, typer.Argument(help="The review appeal's id")],
    uphold: Annotated[
        bool | None,
        typer.Option(
            "--uphold/--dismiss",
            help="Uphold (the review no longer counts) or dismiss (it stays)",
            show_default=False,
        ),
    ] = None,
    note: Annotated[str, typer.Option(help="Why (shown to the shop)")] = "",
    agent: Annotated[str, typer.Option(help="The agent deciding")] = "cli",
    lang: Lang = None,
) -> None:
    """Decide a negative-review appeal (R12.3), once."""
    from aftersales.domain.errors import DomainError
    from aftersales.domain.reviews import STATUS_LABELS
    from aftersales.services import reviews as svc
    from aftersales.services.actors import Actor

    ctx = settings_context()
    loc = normalise_locale(lang or ctx.settings.locale)
    if uphold is None:
        choose = gettext(N_("Give --uphold or --dismiss."), loc)
        console.print(f"[red]{choose}[/red]")
        raise typer.Exit(2)
    try:
        view = svc.decide_appeal(ctx, Actor.platform(agent), appeal_id, uphold=uphold, note=note)
    except DomainError as err:
        console.print(f"[red]{error_message(err, loc)}[/red]")
        raise typer.Exit(1) from None
    console.print(
        translate(
            N_("Review appeal {id}: {status}"),
            loc,
            id=view.id,
            status=gettext(STATUS_LABELS[view.status], loc),
        ),
        highlight=False,
    )
