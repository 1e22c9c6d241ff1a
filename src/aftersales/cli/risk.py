"""R15.2 buyer risk as the agents see it: ``risk``."""

from __future__ import annotations

from functools import partial
from typing import Annotated

import typer
from rich.table import Table

from aftersales.cli.base import Lang, app, console, settings_context
from aftersales.domain.i18n import N_
from aftersales.i18n import error_message, gettext, normalise_locale, translate


@app.command()
def risk(
    buyer_ref: Annotated[str, typer.Argument(help="The marketplace's buyer id")],
    lang: Lang = None,
) -> None:
    """A buyer's risk level (R15.2): the score and every signal that made it, and why."""
    from aftersales.domain.errors import DomainError
    from aftersales.domain.risk import LEVEL_LABELS, SIGNAL_LABELS
    from aftersales.i18n import risk_explanation
    from aftersales.services import risk as svc
    from aftersales.services.actors import Actor

    ctx = settings_context()
    loc = normalise_locale(lang or ctx.settings.locale)
    try:
        view = svc.buyer_risk(ctx, Actor.platform("cli"), buyer_ref)
    except DomainError as err:
        console.print(f"[red]{error_message(err, loc)}[/red]")
        raise typer.Exit(1) from None
    t = partial(gettext, locale=loc)
    a, rules = view.assessment, view.rules
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    head.add_row(t("Buyer"), view.buyer_ref)
    head.add_row(t("Risk level"), f"{t(LEVEL_LABELS[a.level])} ({a.level.value})")
    head.add_row(
        t("Score"),
        translate(
            N_("{score} (medium from {medium}, high from {high})"),
            loc,
            score=a.score,
            medium=rules.medium_at,
            high=rules.high_at,
        ),
    )
    head.add_row(t("Order"), view.order_number or "-")
    head.add_row(t("Policy"), f"{view.profile_id} v{view.profile_version}")
    console.print(head, highlight=False)
    if not a.signals:
        console.print(t("No risk signals."))
        return
    table = Table()
    for col in (N_("Signal"), N_("Points"), N_("Why")):
        table.add_column(t(col))
    for s in a.signals:
        points = f"+{s.points}" if s.points else "-"
        if s.raises_to is not None:
            points = f"≥ {t(LEVEL_LABELS[s.raises_to])}"
        table.add_row(f"{t(SIGNAL_LABELS[s.name])} ({s.name})", points, risk_explanation(s, loc))
    console.print(table, highlight=False)
