"""Command line (Typer): database, worker, server, demo data and case inspection."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table

from aftersales.domain.i18n import N_
from aftersales.i18n import error_message, gettext, normalise_locale, translate
from aftersales.services.context import Context
from aftersales.settings import Settings

if TYPE_CHECKING:
    from aftersales.services.statements import Statement

app = typer.Typer(no_args_is_help=True, help="aftersales: after-sales and dispute resolution.")
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
case_app = typer.Typer(no_args_is_help=True, help="Inspect cases.")
app.add_typer(db_app, name="db")
app.add_typer(case_app, name="case")
ledger_app = typer.Typer(no_args_is_help=True, help="The money ledger.")
app.add_typer(ledger_app, name="ledger")
account_app = typer.Typer(no_args_is_help=True, help="Accounts and API tokens.")
app.add_typer(account_app, name="account")
outbox_app = typer.Typer(no_args_is_help=True, help="The webhook outbox.")
app.add_typer(outbox_app, name="outbox")
console = Console()

Lang = Annotated[str | None, typer.Option("--lang", help="zh_CN or en (default: settings)")]


def _ctx() -> Context:
    return Context.from_settings(Settings())


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply all migrations (SQLite or PostgreSQL, from AFTERSALES_DATABASE_URL)."""
    from aftersales.services import ops

    ctx = _ctx()
    revision = ops.upgrade_schema(ctx)
    console.print(f"database at revision {revision} ({ctx.db.dialect})")


@db_app.command("current")
def db_current() -> None:
    """Show the applied migration revision."""
    from aftersales.services import ops

    console.print(ops.schema_revision(_ctx()) or "empty")


@app.command()
def worker(
    once: Annotated[bool, typer.Option(help="Fire what is due now, then exit.")] = False,
    batch: Annotated[int | None, typer.Option(help="Deadlines per transaction.")] = None,
    name: Annotated[str | None, typer.Option(help="Worker name in the timeline.")] = None,
) -> None:
    """Fire due deadlines (R5.1, R5.3, R5.4 ...). Run several on PostgreSQL to share work."""
    from aftersales.jobs.deadlines import DeadlineWorker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    w = DeadlineWorker(_ctx(), name, batch=batch)
    if once:
        res = w.run_until_idle()
        console.print(f"fired {res.fired}, stale {res.stale}, failed {res.failed}")
        return
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    w.run_forever(stop)


@app.command()
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    workers: Annotated[int, typer.Option(help="Web processes (production shape).")] = 1,
    embedded_worker: Annotated[
        bool | None, typer.Option(help="Run the deadline worker in-process.")
    ] = None,
    embedded_dispatcher: Annotated[
        bool | None, typer.Option(help="Run the webhook outbox dispatcher in-process.")
    ] = None,
) -> None:
    """Serve the API (and, in the embedded shape, the deadline worker and the webhook
    dispatcher). Production: `--workers N --no-embedded-worker --no-embedded-dispatcher`,
    with `aftersales worker` and `aftersales dispatcher` running beside it."""
    import os

    from aftersales.api import server

    if embedded_worker is not None:
        os.environ["AFTERSALES_EMBEDDED_WORKER"] = "true" if embedded_worker else "false"
    if embedded_dispatcher is not None:
        os.environ["AFTERSALES_EMBEDDED_DISPATCHER"] = "true" if embedded_dispatcher else "false"
    # TCP_NODELAY stays on with several workers too (see aftersales.api.server)
    server.run("aftersales.api.app:create_app", host=host, port=port, workers=workers)


@app.command()
def dispatcher(
    once: Annotated[bool, typer.Option(help="Deliver what is due now, then exit.")] = False,
) -> None:
    """Deliver webhooks from the outbox (signed, retried with backoff); prune delivered
    events past AFTERSALES_OUTBOX_RETENTION_DAYS."""
    from aftersales.jobs.outbox import Dispatcher, prune

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    ctx = _ctx()
    d = Dispatcher(ctx)
    if once:
        console.print(f"delivered or retried {d.run_once()}")
        _print_pruned(ctx.settings, prune(ctx), None)
        return
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    d.run_forever(stop)


def _print_pruned(settings: Settings, count: int, lang: str | None) -> None:
    loc = normalise_locale(lang or settings.locale)
    days = settings.outbox_retention_days
    if days == 0:
        console.print(translate(N_("Outbox retention is 0: every event is kept."), loc))
    else:
        msg = N_("{count} finished outbox event(s) older than {days} days pruned.")
        console.print(translate(msg, loc, count=count, days=days))


@outbox_app.command("prune")
def outbox_prune(
    days: Annotated[
        int | None,
        typer.Option(min=0, help="Retention in days (default AFTERSALES_OUTBOX_RETENTION_DAYS)."),
    ] = None,
    lang: Lang = None,
) -> None:
    """Delete webhook events past the retention whose deliveries are all finished (with
    their delivery log), in short batches. The case timeline is never pruned."""
    from aftersales.jobs.outbox import prune

    settings = Settings() if days is None else Settings(outbox_retention_days=days)
    _print_pruned(settings, prune(Context.from_settings(settings)), lang)


@account_app.command("create")
def account_create(
    kind: Annotated[str, typer.Option(help="buyer, merchant, agent, admin or service")],
    login: Annotated[str, typer.Option()],
    password: Annotated[
        str | None, typer.Option(help="Omit for a service account (tokens only).")
    ] = None,
    shop: Annotated[str | None, typer.Option(help="Shop code (merchant accounts).")] = None,
    buyer_ref: Annotated[str | None, typer.Option(help="Buyer ref (buyer accounts).")] = None,
    main: Annotated[bool, typer.Option(help="The shop's main account.")] = False,
    permission: Annotated[
        list[str] | None, typer.Option(help="A sub-account permission (repeatable).")
    ] = None,
) -> None:
    """Create an account as the operator (bootstrap: the first admin, integrations)."""
    from aftersales.domain.accounts import AccountKind
    from aftersales.domain.errors import DomainError
    from aftersales.services import accounts

    try:
        view = accounts.create_account(
            _ctx(),
            None,
            kind=AccountKind(kind),
            login=login,
            password=password,
            shop_code=shop,
            buyer_ref=buyer_ref,
            main=main,
            permissions=permission or [],
        )
    except (DomainError, ValueError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    console.print(f"account {view.id} {view.login} ({view.kind.value})")


@account_app.command("token")
def account_token(
    login: Annotated[str, typer.Option()],
    name: Annotated[str, typer.Option()],
    scope: Annotated[list[str], typer.Option(help="A scope, e.g. orders:write (repeatable).")],
    days: Annotated[int | None, typer.Option(help="Expires after this many days.")] = None,
) -> None:
    """Create an API token for an account; prints the secret once."""
    from aftersales.domain.errors import DomainError
    from aftersales.services import accounts
    from aftersales.services.actors import Actor

    ctx = _ctx()
    operator = Actor.system("operator")
    try:
        account = accounts.account_by_login(ctx, operator, login)
    except DomainError:
        console.print(f"[red]no account {login}[/red]")
        raise typer.Exit(1) from None
    try:
        tok = accounts.create_token(
            ctx,
            operator,
            name=name,
            scopes=scope,
            expires_in_days=days,
            account_id=account.id,
        )
    except DomainError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    print(tok.token)


@app.command()
def demo(
    if_empty: Annotated[bool, typer.Option(help="Only when the database has no shops.")] = False,
    lang: Lang = None,
) -> None:
    """Load a demo marketplace: shops, products, buyers, orders, cases in every state. Prints
    the demo's shop codes and logins (also when `--if-empty` finds it already loaded)."""
    from aftersales.demo import load_demo, render_logins, runnable_program
    from aftersales.services.demo import demo_logins

    ctx = _ctx()
    loc = normalise_locale(lang or ctx.settings.locale)
    program = runnable_program()
    summary = load_demo(ctx, if_empty=if_empty)
    # Plain output: no markup, no wrapping, so every hint can be copied and run as printed.
    typer.echo(summary.render(loc, program))
    typer.echo(render_logins(demo_logins(ctx), loc, program))


@app.command()
def rules(
    markdown: Annotated[
        bool, typer.Option(help="Print docs/rules.md: each rule, where it is cited, its tests.")
    ] = False,
    lang: Lang = None,
) -> None:
    """The rules R1…R16 and their clauses: id, title (English), the profile fields each
    reads."""
    from aftersales.domain.rules import RULES
    from aftersales.rules_doc import render_markdown

    if markdown:
        typer.echo(render_markdown(), nl=False)
        return
    loc = normalise_locale(lang or Settings().locale)
    table = Table()
    for col in (N_("Rule"), N_("Title"), N_("Profile fields")):
        table.add_column(gettext(col, loc))
    for r in RULES:
        table.add_row(r.id, r.title, ", ".join(r.reads) or "-")
    console.print(table, highlight=False)


@app.command()
def diagram() -> None:
    """Print the case state machine as Mermaid (the block in docs/architecture.md)."""
    from aftersales.domain.diagram import mermaid

    typer.echo(mermaid(), nl=False)


def _fmt_time(value: object, tz: str) -> str:
    if isinstance(value, datetime):
        return value.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")
    return "-"


@case_app.command("show")
def case_show(number: str, lang: Lang = None) -> None:
    """Show a case and its whole timeline."""
    from aftersales.domain.errors import DomainError
    from aftersales.services import cases as svc
    from aftersales.services import shops
    from aftersales.services.actors import Actor

    ctx = _ctx()
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
        (t("Type"), t(_TYPE_LABELS[c.type.value])),
        (t("State"), t(_STATE_LABELS[c.state.value])),
        (t("Order"), view.order_number),
        (t("Shop"), view.shop_name),
        (t("Buyer"), view.buyer_name),
        (
            t("Reason"),
            f"{t(_reason_label(c.reason))} ({first_label}: {t(_reason_label(c.first_reason))})",
        ),
        (t("Requested"), c.requested.format()),
        (t("Agreed"), c.agreed.format() if c.agreed else "-"),
        (t("Policy"), f"{c.profile_id} v{c.profile_version}"),
        (
            t("Deadline"),
            f"{c.deadline_kind.value if c.deadline_kind else '-'} {_fmt_time(c.deadline_at, tz)}",
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
        label = t(_ACTION_LABELS.get(e.action, e.action))
        console.print(
            f"[bold]{e.seq:>2}[/bold] {_fmt_time(e.at, tz)}  {label}{rule}  "
            f"[dim]{e.from_state or '-'} → {e.to_state}[/dim]  · {who}",
            highlight=False,
        )
        for key, change in (e.changes or {}).items():
            if key in _QUIET_FIELDS:
                continue
            before, after = _short(change.get("before")), _short(change.get("after"))
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


def _short(value: object) -> str:
    if isinstance(value, dict) and "amount" in value and "currency" in value:
        return f"{value['amount'] / 100:.2f} {value['currency']}"
    if isinstance(value, dict) and "tracking_number" in value:
        return f"{value.get('carrier')} {value['tracking_number']}"
    if isinstance(value, list):
        return "; ".join(_short(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={_short(v)}" for k, v in value.items())
    return "-" if value is None else str(value)


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

    ctx = _ctx()
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
            gettext(_TYPE_LABELS[r.type], loc),
            gettext(_STATE_LABELS[r.state], loc),
            gettext(_reason_label(r.reason), loc),
            f"{r.requested / 100:.2f} {r.currency}",
        )
    console.print(table)


def _parse_day(value: str, tz: str, name: str) -> datetime:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        console.print(f"[red]--{name}: expected YYYY-MM-DD, got {value!r}[/red]")
        raise typer.Exit(2) from None
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(tz))


@ledger_app.command("statement")
def ledger_statement(
    shop: Annotated[str, typer.Argument(help="Shop code")],
    start: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD (shop time)")],
    end: Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD (inclusive)")],
    csv_path: Annotated[Path | None, typer.Option("--csv", help="Also write CSV here")] = None,
    xlsx_path: Annotated[Path | None, typer.Option("--xlsx", help="Also write XLSX")] = None,
    lang: Lang = None,
) -> None:
    """A shop's statement: opening balance, every movement with its case, closing balance."""
    from aftersales.domain.errors import DomainError
    from aftersales.services import shops, statements
    from aftersales.services.actors import Actor

    ctx = _ctx()
    loc = normalise_locale(lang or ctx.settings.locale)
    try:
        tz = shops.get_shop(ctx, Actor.platform("cli"), shop).timezone
    except DomainError:
        tz = "UTC"  # shop_statement below names the unknown shop
    lo = _parse_day(start, tz, "from")
    hi = _parse_day(end, tz, "to") + timedelta(days=1)
    if hi <= lo:
        console.print("[red]--to is before --from[/red]")
        raise typer.Exit(2)
    try:
        st = statements.shop_statement(ctx, Actor.platform("cli"), shop, lo, hi)
    except DomainError as err:
        console.print(f"[red]{error_message(err, loc)}[/red]")
        raise typer.Exit(1) from None
    t = partial(gettext, locale=loc)
    rows = _statement_rows(st, tz, t)
    console.print(f"[bold]{st.shop_name}[/bold] ({st.shop_code})  {start} → {end}")
    for acc in st.accounts:
        table = Table(title=f"{t(_PURPOSE_LABELS.get(acc.purpose, acc.purpose))} ({acc.currency})")
        for col in (
            t("When"),
            t("Entry"),
            t("Kind"),
            t("Rule"),
            t("Case"),
            t("Order"),
            t("Amount"),
            t("Balance"),
        ):
            table.add_column(col)
        table.add_row("", "", t("Opening balance"), "", "", "", "", _amt(acc.opening))
        for m in acc.movements:
            table.add_row(
                _fmt_time(m.at, tz),
                str(m.entry_id),
                m.kind,
                m.rule,
                m.case_number or "",
                m.order_number or "",
                _amt(m.amount),
                _amt(m.balance_after),
            )
        table.add_row("", "", t("Closing balance"), "", "", "", "", _amt(acc.closing))
        console.print(table)
    header = [
        t("Account"),
        t("Currency"),
        t("When"),
        t("Entry"),
        t("Kind"),
        t("Rule"),
        t("Case"),
        t("Order"),
        t("Memo"),
        t("Amount"),
        t("Balance"),
    ]
    if csv_path is not None:
        import csv

        with csv_path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(header)
            writer.writerows(rows)
        console.print(f"CSV: {csv_path}")
    if xlsx_path is not None:
        from openpyxl import Workbook

        wb = Workbook()
        ws = wb.active
        assert ws is not None
        ws.title = "statement"
        ws.append(header)
        for r in rows:
            # Amounts as exact decimal numbers (from integer minor units), shown with 2 places.
            ws.append(
                [Decimal(str(v)) if i >= len(r) - 2 and v != "" else v for i, v in enumerate(r)]
            )
            for cell in ws[ws.max_row][-2:]:
                cell.number_format = "0.00"
        wb.save(xlsx_path)
        console.print(f"XLSX: {xlsx_path}")


def _amt(minor: int) -> str:
    sign = "-" if minor < 0 else ""
    return f"{sign}{abs(minor) // 100}.{abs(minor) % 100:02d}"


def _statement_rows(st: Statement, tz: str, t: Callable[[str], str]) -> list[list[object]]:
    rows: list[list[object]] = []
    opening, closing = t("Opening balance"), t("Closing balance")
    for acc in st.accounts:
        purpose = t(_PURPOSE_LABELS.get(acc.purpose, acc.purpose))
        rows.append([purpose, acc.currency, "", "", opening, "", "", "", "", "", _amt(acc.opening)])
        for m in acc.movements:
            rows.append(
                [
                    purpose,
                    acc.currency,
                    _fmt_time(m.at, tz),
                    m.entry_id,
                    m.kind,
                    m.rule,
                    m.case_number or "",
                    m.order_number or "",
                    m.memo,
                    _amt(m.amount),
                    _amt(m.balance_after),
                ]
            )
        rows.append([purpose, acc.currency, "", "", closing, "", "", "", "", "", _amt(acc.closing)])
    return rows


_PURPOSE_LABELS = {
    "settlement": N_("Settlement balance"),
    "deposit": N_("Deposit"),
}


@ledger_app.command("top-up")
def ledger_top_up(
    shop: Annotated[str, typer.Argument(help="Shop code")],
    amount: Annotated[int, typer.Argument(help="Minor units of the shop's profile currency")],
    reference: Annotated[
        str, typer.Option("--reference", help="The payment's id: the same payment counts once")
    ],
    lang: Lang = None,
) -> None:
    """Record a payment into a shop's deposit 保证金; print its standing (R11.2: a deposit
    back at the required level lifts the withdrawal freeze)."""
    from aftersales.domain.errors import DomainError
    from aftersales.services import money
    from aftersales.services.actors import Actor

    ctx = _ctx()
    loc = normalise_locale(lang or ctx.settings.locale)
    t = partial(gettext, locale=loc)
    try:
        entry, st = money.top_up(ctx, Actor.system("cli"), shop, amount, reference)
    except DomainError as err:
        console.print(f"[red]{error_message(err, loc)}[/red]")
        raise typer.Exit(1) from None
    from aftersales.domain.money import Money

    have, need = Money(st.deposit, st.currency), Money(st.required_deposit, st.currency)
    console.print(f"{t('Entry')} {entry}: {t('Deposit')} {have} / {need}")
    if st.withdrawals_frozen:
        frozen = t(N_("Withdrawals frozen"))
        console.print(f"[yellow]{frozen}[/yellow]")
    else:
        console.print(t(N_("Withdrawals allowed")))


@ledger_app.command("check")
def ledger_check() -> None:
    """Verify every ledger invariant; exit 1 listing the offending entries if one fails."""
    from aftersales.services import statements

    report = statements.check(_ctx())
    counts = ", ".join(f"{v} {k}" for k, v in report.checked.items())
    if report.ok:
        console.print(f"ledger ok: {counts}")
        return
    for problem in report.problems:
        console.print(f"[red]{problem}[/red]", highlight=False)
    console.print(f"{len(report.problems)} problem(s); checked {counts}")
    raise typer.Exit(1)


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

    ctx = _ctx()
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

    ctx = _ctx()
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

    ctx = _ctx()
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
            console.print(f"    {held} {c.name} {c.rule} {_short(c.detail)}", highlight=False)


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

    ctx = _ctx()
    loc = normalise_locale(lang or ctx.settings.locale)
    t = partial(gettext, locale=loc)
    from aftersales.services.actors import Actor

    items = svc.agent_queue(ctx, Actor.platform(agent), mine=mine)
    tz = "UTC"
    table = Table()
    for col in (N_("Due"), N_("Kind"), N_("Item"), N_("Shop"), N_("Agent")):
        table.add_column(t(col))
    for i in items:
        due = _fmt_time(i.due_at, tz) + (f" [red]{t('overdue')}[/red]" if i.overdue else "")
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

    ctx = _ctx()
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
    head.add_row(t("Case"), f"{view.case_number} ({t(_STATE_LABELS[view.case_state])})")
    head.add_row(t("Round"), f"{view.round} ({view.status})")
    head.add_row(t("Opened by"), f"{view.opened_by}: {view.statement}")
    responded = (
        f"{_fmt_time(view.merchant_responded_at, tz)}: {view.merchant_response}"
        if view.merchant_responded_at
        else "-"
    )
    head.add_row(t("Merchant response due"), _fmt_time(view.merchant_response_due, tz))
    head.add_row(t("Merchant responded"), responded)
    head.add_row(t("Evidence due"), _fmt_time(view.evidence_due, tz))
    head.add_row(t("Ruling due"), _fmt_time(view.ruling_due, tz))
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
            f"E{e.id}", e.party + first, e.kind, _fmt_time(e.created_at, tz), e.description
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
            f"{t('Ruling')} #{r.id} {_fmt_time(r.ruled_at, tz)} {r.agent}: {r.liability} / "
            f"{r.remedy}{money}: {r.reasons}"
            + (f" ({t('override')}: {r.override_reason})" if r.overridden else ""),
            highlight=False,
        )
    for a in view.appeals:
        console.print(
            f"{t('Appeal')} #{a.id} {a.party} {a.grounds} {a.status} "
            f"({t('decide by')} {_fmt_time(a.decide_by, tz)}): {a.statement}",
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

    ctx = _ctx()
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
        f"#{r.id}: {r.liability} / {r.remedy} -> {gettext(_STATE_LABELS[view.case_state], loc)}",
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

    ctx = _ctx()
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

    ctx = _ctx()
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

    ctx = _ctx()
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


def _reason_label(code: str) -> str:
    from aftersales.domain.reasons import REASONS

    r = REASONS.get(code)
    return r.label if r else code


from aftersales.labels import ACTION_LABELS as _ACTION_LABELS  # noqa: E402
from aftersales.labels import STATE_LABELS as _STATE_LABELS  # noqa: E402
from aftersales.labels import TYPE_LABELS as _TYPE_LABELS  # noqa: E402


def main() -> None:
    app()


if __name__ == "__main__":
    main()
