"""Platform intervention (R9-R12) and the judgment (R10): the agent ``queue``,
``intervention show``/``rule``, ``judgment base-rates``/``recommend``."""

from __future__ import annotations

from functools import partial
from typing import Annotated

import typer
from rich.table import Table

from aftersales.cli.base import Lang, app, console, fmt_time, settings_context
from aftersales.domain.i18n import N_
from aftersales.i18n import error_message, gettext, normalise_locale, translate
from aftersales.labels import STATE_LABELS

intervention_app = typer.Typer(
    no_args_is_help=True, help="Platform intervention, rulings and appeals (R9-R12)."
)
app.add_typer(intervention_app, name="intervention")

AGENT = Annotated[
    str, typer.Option("--agent", help="The agent acting (a different one hears appeals)")
]


@app.command()
def queue(
    mine: Annotated[bool, typer.Option(help="Only items this agent holds")] = False,
    agent: AGENT = "cli",
    lang: Lang = None,
) -> None:
    """The agent queue: interventions, appeals and reports by deadline (overdue first)."""
    from aftersales.services import queue as svc

    ctx = settings_context()
    loc = normalise_locale(lang or ctx.settings.locale)
    t = partial(gettext, locale=loc)
    from aftersales.services.actors import Actor

    items = svc.agent_queue(ctx, Actor.platform(agent), mine=mine)
    tz = "UTC"
    table = Table()
    for col in (N_("Due"), N_("Kind"), N_("Item"), N_("Shop"), N_("Agent")):
        table.add_column(t(col))
    for i in items:
        due = fmt_time(i.due_at, tz) + (f" [red]{t('overdue')}[/red]" if i.overdue else "")
        if i.urgent:
            due += f" [yellow]{t('urgent')}[/yellow]"
        table.add_row(
            due,
            t(svc.KIND_LABELS[i.kind]),
            i.case_number or f"#{i.id}",
            i.shop,
            i.assigned_agent or "-",
        )
    console.print(table, highlight=False)
    console.print(translate(N_("{count} item(s) waiting"), loc, count=len(items)))


@intervention_app.command("show")
def intervention_show(
    number: Annotated[str, typer.Argument(help="Case number")],
    agent: AGENT = "cli",
    lang: Lang = None,
) -> None:
    """An intervention as the agent sees it: deadlines, both sides' evidence, the
    recommendation with its reasons (R10.5), rulings and appeals."""
    from aftersales.domain.errors import DomainError
    from aftersales.labels import EVIDENCE_KIND_LABELS
    from aftersales.services import evidence as evidence_svc
    from aftersales.services import interventions as svc
    from aftersales.services import judgment
    from aftersales.services.actors import Actor

    ctx = settings_context()
    loc = normalise_locale(lang or ctx.settings.locale)
    t = partial(gettext, locale=loc)
    actor = Actor.platform(agent)
    try:
        view = svc.get_intervention(ctx, actor, number)
        items = evidence_svc.list_evidence(ctx, actor, number)
        result = (
            judgment.recommendation_for(ctx, actor, number).result
            if view.status == "open"
            else None
        )
    except DomainError as err:
        console.print(f"[red]{error_message(err, loc)}[/red]")
        raise typer.Exit(1) from None
    tz = "UTC"
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    head.add_row(t("Case"), f"{view.case_number} ({t(STATE_LABELS[view.case_state])})")
    head.add_row(t("Round"), f"{view.round} ({view.status})")
    head.add_row(t("Opened by"), f"{view.opened_by}: {view.statement}")
    responded = (
        f"{fmt_time(view.merchant_responded_at, tz)}: {view.merchant_response}"
        if view.merchant_responded_at
        else "-"
    )
    head.add_row(t("Merchant response due"), fmt_time(view.merchant_response_due, tz))
    head.add_row(t("Merchant responded"), responded)
    head.add_row(t("Evidence due"), fmt_time(view.evidence_due, tz))
    head.add_row(t("Ruling due"), fmt_time(view.ruling_due, tz))
    console.print(head, highlight=False)
    for template in view.templates:
        kinds = "; ".join(
            " / ".join(t(EVIDENCE_KIND_LABELS[k.value]) for k in slot.kinds)
            for slot in template.slots
        )
        console.print(f"{t('Template')} ({t(template.party.value)}): {kinds}", highlight=False)
    table = Table(title=t("Evidence"))
    for col in (N_("Item"), N_("Side"), N_("Kind"), N_("Added"), N_("Description")):
        table.add_column(t(col))
    for e in items:
        first = f" ({t('first submission')})" if e.first_submission else ""
        table.add_row(
            f"E{e.id}", e.party + first, e.kind, fmt_time(e.created_at, tz), e.description
        )
    console.print(table, highlight=False)
    if result is not None:
        rec = result.recommendation
        d = rec.decision
        console.print(
            f"{t('Recommendation')}: {d.liability.value} / {d.remedy.value} / "
            f"{t('freight')} {d.freight_payer.value} / {t('return risk')} "
            f"{d.return_risk.value} ({t('confidence')} {rec.confidence:.0%})",
            highlight=False,
        )
        for factor in rec.factors:
            console.print(f"  + {judgment.render_factor(factor, loc)}", highlight=False)
        for factor in rec.ignored:
            console.print(f"  - {judgment.render_factor(factor, loc)}", highlight=False)
    for r in view.rulings:
        money = f" {r.amount.format()}" if r.amount is not None else ""
        console.print(
            f"{t('Ruling')} #{r.id} {fmt_time(r.ruled_at, tz)} {r.agent}: {r.liability} / "
            f"{r.remedy}{money}: {r.reasons}"
            + (f" ({t('override')}: {r.override_reason})" if r.overridden else ""),
            highlight=False,
        )
    for a in view.appeals:
        console.print(
            f"{t('Appeal')} #{a.id} {a.party} {a.grounds} {a.status} "
            f"({t('decide by')} {fmt_time(a.decide_by, tz)}): {a.statement}",
            highlight=False,
        )


@intervention_app.command("rule")
def intervention_rule(
    number: Annotated[str, typer.Argument(help="Case number")],
    reasons: Annotated[str, typer.Option(help="The reasons told to both parties (R10.5)")],
    accept: Annotated[
        bool, typer.Option("--accept/--override", help="Accept the recommendation")
    ] = True,
    liability: Annotated[str | None, typer.Option(help="Override: liability")] = None,
    remedy: Annotated[str | None, typer.Option(help="Override: remedy")] = None,
    amount: Annotated[int | None, typer.Option(help="A partial refund, minor units")] = None,
    override_reason: Annotated[str, typer.Option(help="Required to override")] = "",
    agent: AGENT = "cli",
    lang: Lang = None,
) -> None:
    """Rule on an open intervention: accept the recommendation or override it (R10.5)."""
    from aftersales.domain.errors import DomainError
    from aftersales.domain.policy import Liability, Remedy
    from aftersales.services import interventions as svc
    from aftersales.services.actors import Actor

    ctx = settings_context()
    loc = normalise_locale(lang or ctx.settings.locale)
    try:
        view = svc.rule(
            ctx,
            Actor.platform(agent),
            number,
            svc.RulingInput(
                reasons=reasons,
                accept=accept,
                liability=Liability(liability) if liability else None,
                remedy=Remedy(remedy) if remedy else None,
                amount=amount,
                override_reason=override_reason,
            ),
        )
    except DomainError as err:
        console.print(f"[red]{error_message(err, loc)}[/red]")
        raise typer.Exit(1) from None
    except ValueError as err:
        console.print(f"[red]{err}[/red]")
        raise typer.Exit(2) from None
    r = view.rulings[-1]
    console.print(
        f"#{r.id}: {r.liability} / {r.remedy} -> {gettext(STATE_LABELS[view.case_state], loc)}",
        highlight=False,
    )


judgment_app = typer.Typer(no_args_is_help=True, help="The judgment (R10) on a case.")
app.add_typer(judgment_app, name="judgment")


@judgment_app.command("base-rates")
def judgment_base_rates(
    n: Annotated[int, typer.Option("--n", help="Disputes in the generated mix.")] = 3000,
    seed: Annotated[
        list[int] | None, typer.Option(help="A seed (repeatable; default 20261105 and 7).")
    ] = None,
) -> None:
    """R10.2: judge a generated mix of disputes with the default profile's rules and print
    the buyer's success rate per family of fault and per scenario."""
    from aftersales.domain.judgment_mix import DEFAULT_SEEDS, measure, table
    from aftersales.profiles import DEFAULT_PROFILE, load_profiles

    judgment = load_profiles()[DEFAULT_PROFILE].judgment
    assert judgment is not None
    for one in seed or DEFAULT_SEEDS:
        print(table(measure(judgment, n, one)))


@judgment_app.command("recommend")
def judgment_recommend(
    number: Annotated[str, typer.Argument(help="Case number")],
    issue: Annotated[
        str | None, typer.Option("--issue", help="The claim to weigh (default: the reason's)")
    ] = None,
    lang: Lang = None,
) -> None:
    """The recommended ruling on a case now (R10), every rule, item of evidence and
    signal that decided it (R10.5), and the evidence set aside (R9.3)."""
    from aftersales.domain import judgment as J
    from aftersales.domain.errors import DomainError
    from aftersales.services import judgment as svc
    from aftersales.services.actors import Actor

    ctx = settings_context()
    loc = normalise_locale(lang or ctx.settings.locale)
    t = partial(gettext, locale=loc)
    try:
        view = svc.recommendation_for(ctx, Actor.platform("cli"), number, issue=issue)
    except DomainError as err:
        console.print(f"[red]{error_message(err, loc)}[/red]")
        raise typer.Exit(1) from None
    result = view.result
    rec, facts = result.recommendation, result.facts
    d = rec.decision
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    for label, value in (
        (N_("Case"), view.case_number),
        (N_("Claim"), f"{t(J.ISSUE_LABELS[facts.issue])} ({facts.issue.value})"),
        (N_("Decided for"), t(J.SIDE_LABELS[rec.decided_for])),
        (N_("Basis"), t(J.BASIS_LABELS[rec.basis])),
        (N_("Confidence"), f"{rec.confidence:.0%}"),
        (N_("Liability"), t(J.LIABILITY_LABELS[d.liability])),
        (N_("Remedy"), t(J.REMEDY_LABELS[d.remedy])),
        (N_("Freight"), t(J.FREIGHT_LABELS[d.freight_payer])),
        (N_("Return risk"), t(J.LIABILITY_LABELS[d.return_risk])),
        (
            N_("Support"),
            translate(
                N_("buyer {buyer}, merchant {merchant}, balance {balance}"),
                loc,
                buyer=rec.buyer_support,
                merchant=rec.merchant_support,
                balance=rec.balance,
            ),
        ),
        (N_("Policy"), f"{view.profile_id} v{view.profile_version}"),
    ):
        head.add_row(t(label), value)
    console.print(head, highlight=False)
    for title, factors in ((N_("Factors"), rec.factors), (N_("Set aside"), rec.ignored)):
        if not factors:
            continue
        table = Table(title=t(title))
        for col in (N_("Kind"), N_("Ref"), N_("Clause"), N_("Weight"), N_("Why")):
            table.add_column(t(col))
        for f in factors:
            rule = svc.rule_label(view.policy, f.ref, loc) if f.kind is J.FactorKind.RULE else None
            table.add_row(
                t(J.FACTOR_KIND_LABELS[f.kind]),
                f"{f.ref} ({rule})" if rule else f.ref,
                f.clause,
                f"{f.weight:g}",
                svc.render_factor(f, loc),
            )
        console.print(table, highlight=False)
