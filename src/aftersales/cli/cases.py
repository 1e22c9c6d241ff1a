"""Inspecting cases as the platform agent ``cli``: ``case show``, ``case list``."""

from __future__ import annotations

from functools import partial
from typing import Annotated

import typer
from rich.table import Table

from aftersales.cli.base import (
    Lang,
    app,
    console,
    fmt_time,
    reason_label,
    settings_context,
    short,
)
from aftersales.domain.i18n import N_
from aftersales.i18n import error_message, gettext, normalise_locale
from aftersales.labels import ACTION_LABELS, STATE_LABELS, TYPE_LABELS

case_app = typer.Typer(no_args_is_help=True, help="Inspect cases.")
app.add_typer(case_app, name="case")


@case_app.command("show")
def case_show(number: str, lang: Lang = None) -> None:
    """Show a case and its whole timeline."""
    from aftersales.domain.errors import DomainError
    from aftersales.services import cases as svc
    from aftersales.services import shops
    from aftersales.services.actors import Actor

    ctx = settings_context()
    loc = normalise_locale(lang or ctx.settings.locale)
    agent = Actor.platform("cli")
    try:
        view = svc.get_case(ctx, agent, number)
        tz = shops.get_shop(ctx, agent, view.shop_code).timezone
    except DomainError as err:
        console.print(f"[red]{error_message(err, loc)}[/red]")
        raise typer.Exit(1) from None
    c = view.case
    t = partial(gettext, locale=loc)
    first_label = t("first reason")
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    rows = [
        (t("Case"), c.number),
        (t("Type"), t(TYPE_LABELS[c.type.value])),
        (t("State"), t(STATE_LABELS[c.state.value])),
        (t("Order"), view.order_number),
        (t("Shop"), view.shop_name),
        (t("Buyer"), view.buyer_name),
        (
            t("Reason"),
            f"{t(reason_label(c.reason))} ({first_label}: {t(reason_label(c.first_reason))})",
        ),
        (t("Requested"), c.requested.format()),
        (t("Agreed"), c.agreed.format() if c.agreed else "-"),
        (t("Policy"), f"{c.profile_id} v{c.profile_version}"),
        (
            t("Deadline"),
            f"{c.deadline_kind.value if c.deadline_kind else '-'} {fmt_time(c.deadline_at, tz)}",
        ),
        (t("Version"), str(c.version)),
    ]
    for k, v in rows:
        head.add_row(k, v)
    console.print(head)
    console.print()
    timeline_label, strategy_label, note_label = t("Timeline"), t("strategy"), t("note")
    console.print(f"[bold]{timeline_label}[/bold]")
    for e in view.timeline:
        who = e.actor_kind + (f" ({e.actor_id})" if e.actor_id else "")
        if e.strategy:
            who += f" [{strategy_label}: {e.strategy}]"
        rule = f" [cyan]{e.rule}[/cyan]" if e.rule else ""
        label = t(ACTION_LABELS.get(e.action, e.action))
        console.print(
            f"[bold]{e.seq:>2}[/bold] {fmt_time(e.at, tz)}  {label}{rule}  "
            f"[dim]{e.from_state or '-'} → {e.to_state}[/dim]  · {who}",
            highlight=False,
        )
        for key, change in (e.changes or {}).items():
            if key in _QUIET_FIELDS:
                continue
            before, after = short(change.get("before")), short(change.get("after"))
            text = after if change.get("before") is None else f"{before} → {after}"
            console.print(f"     {key}: {text}", highlight=False)
        if e.note:
            console.print(f"     {note_label}: {e.note}", highlight=False)
    for r in view.refunds:
        console.print(
            f"{t('Refund decision')}: {r.amount / 100:.2f} {r.currency} "
            f"({r.rule}, {r.decided_by_kind})"
        )


_QUIET_FIELDS = frozenset({"state", "deadline_at", "deadline_kind", "closed_at", "close_reason"})


@case_app.command("list")
def case_list(
    shop: Annotated[str | None, typer.Option(help="Shop code")] = None,
    state: Annotated[str | None, typer.Option(help="State")] = None,
    limit: Annotated[int, typer.Option()] = 50,
    lang: Lang = None,
) -> None:
    """List recent cases, newest first. Acts as the platform (agent `cli`), so it sees
    every shop's cases, through the same authorized listing as the API."""
    from aftersales.domain.errors import DomainError
    from aftersales.services import cases as svc
    from aftersales.services import shops
    from aftersales.services.actors import Actor

    ctx = settings_context()
    loc = normalise_locale(lang or ctx.settings.locale)
    agent = Actor.platform("cli")
    try:
        if shop:
            shops.get_shop(ctx, agent, shop)  # an unknown shop is an error, not an empty list
        found = svc.list_cases(
            ctx,
            agent,
            svc.CaseFilter(shop_code=shop, states=(state,) if state else ()),
            sort="-created_at",
            limit=limit,
        )
    except DomainError as err:
        console.print(f"[red]{error_message(err, loc)}[/red]")
        raise typer.Exit(1) from None
    rows = found.rows
    table = Table()
    columns = (
        N_("Case"),
        N_("Shop"),
        N_("Order"),
        N_("Type"),
        N_("State"),
        N_("Reason"),
        N_("Requested"),
    )
    for col in columns:
        table.add_column(gettext(col, loc))
    for r in rows:
        table.add_row(
            r.number,
            r.shop_code,
            r.order_number,
            gettext(TYPE_LABELS[r.type], loc),
            gettext(STATE_LABELS[r.state], loc),
            gettext(reason_label(r.reason), loc),
            f"{r.requested / 100:.2f} {r.currency}",
        )
    console.print(table)
