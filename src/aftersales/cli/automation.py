"""R6 strategies: ``automation list``, ``automation preview``."""

from __future__ import annotations

from functools import partial
from typing import Annotated

import typer
from rich.table import Table

from aftersales.cli.base import Lang, app, console, settings_context, short
from aftersales.domain.i18n import N_
from aftersales.i18n import error_message, gettext, normalise_locale

automation_app = typer.Typer(
    no_args_is_help=True, help="Automation strategies (R6) and express refund (R7)."
)
app.add_typer(automation_app, name="automation")


@automation_app.command("list")
def automation_list(
    shop: Annotated[str, typer.Argument(help="Shop code")], lang: Lang = None
) -> None:
    """A shop's strategies in priority order, its service hours and express refund."""
    from aftersales.domain.automation import KIND_LABELS
    from aftersales.domain.errors import DomainError
    from aftersales.services import automation as svc
    from aftersales.services import express_refund
    from aftersales.services.actors import Actor

    ctx = settings_context()
    loc = normalise_locale(lang or ctx.settings.locale)
    t = partial(gettext, locale=loc)
    actor = Actor.platform("cli")
    try:
        settings = svc.settings(ctx, actor, shop)
        express = express_refund.status(ctx, actor, shop)
    except DomainError as err:
        console.print(f"[red]{error_message(err, loc)}[/red]")
        raise typer.Exit(1) from None
    hours = settings.service_hours
    console.print(
        f"{t('Service hours')}: "
        + (
            f"{hours.start:%H:%M}-{hours.end:%H:%M} {list(hours.days)} ({settings.timezone})"
            if hours
            else "-"
        ),
        highlight=False,
    )
    state = t("on") if express.enabled else t("off")
    console.print(f"{t('Express refund')}: {state}", highlight=False)
    table = Table()
    for col in (N_("Priority"), N_("Strategy"), N_("Kind"), N_("On"), N_("Conditions")):
        table.add_column(t(col))
    for st in settings.strategies:
        cond = ", ".join(f"{k}={v}" for k, v in st.conditions.to_json().items() if v)
        table.add_row(
            str(st.priority),
            f"{st.name} (#{st.id})",
            t(KIND_LABELS[st.kind]),
            "✓" if st.enabled else "-",
            cond or "-",
        )
    console.print(table, highlight=False)


@automation_app.command("preview")
def automation_preview(
    number: Annotated[str, typer.Argument(help="Case number")], lang: Lang = None
) -> None:
    """The dry run: which strategy would act on the case now, and why each would or not."""
    from aftersales.domain.errors import DomainError
    from aftersales.services import automation as svc
    from aftersales.services.actors import Actor

    ctx = settings_context()
    loc = normalise_locale(lang or ctx.settings.locale)
    t = partial(gettext, locale=loc)
    try:
        p = svc.preview(ctx, Actor.platform("cli"), number)
    except DomainError as err:
        console.print(f"[red]{error_message(err, loc)}[/red]")
        raise typer.Exit(1) from None
    if p.regional_rule:
        console.print(f"R8.2: {p.regional_rule}", highlight=False)
    acting = f"{p.acting.strategy.name} (#{p.acting.strategy.id})" if p.acting else "-"
    console.print(f"{t('Would act')}: {acting}", highlight=False)
    for v in p.verdicts:
        mark = "✓" if v.matched else "✗"
        console.print(f"{mark} {v.strategy.name} (#{v.strategy.id}, {v.strategy.kind.value})")
        for c in v.checks:
            held = "✓" if c.held else "✗"
            console.print(f"    {held} {c.name} {c.rule} {short(c.detail)}", highlight=False)
