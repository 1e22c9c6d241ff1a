"""The money ledger: a shop's statement, a deposit top-up, the balance check."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from aftersales.cli.base import (
    Lang,
    app,
    console,
    fmt_time,
    minor_text,
    parse_day,
    settings_context,
)
from aftersales.domain.i18n import N_
from aftersales.i18n import error_message, gettext, normalise_locale

if TYPE_CHECKING:
    from aftersales.services.statements import Statement

ledger_app = typer.Typer(no_args_is_help=True, help="The money ledger.")
app.add_typer(ledger_app, name="ledger")


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

    ctx = settings_context()
    loc = normalise_locale(lang or ctx.settings.locale)
    try:
        tz = shops.get_shop(ctx, Actor.platform("cli"), shop).timezone
    except DomainError:
        tz = "UTC"  # shop_statement below names the unknown shop
    lo = parse_day(start, tz, "from")
    hi = parse_day(end, tz, "to") + timedelta(days=1)
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
        table.add_row(
            "", "", t("Opening balance"), "", "", "", "", minor_text(acc.opening, acc.currency)
        )
        for m in acc.movements:
            table.add_row(
                fmt_time(m.at, tz),
                str(m.entry_id),
                m.kind,
                m.rule,
                m.case_number or "",
                m.order_number or "",
                minor_text(m.amount, acc.currency),
                minor_text(m.balance_after, acc.currency),
            )
        table.add_row(
            "", "", t("Closing balance"), "", "", "", "", minor_text(acc.closing, acc.currency)
        )
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


def _statement_rows(st: Statement, tz: str, t: Callable[[str], str]) -> list[list[object]]:
    rows: list[list[object]] = []
    opening, closing = t("Opening balance"), t("Closing balance")
    for acc in st.accounts:
        purpose = t(_PURPOSE_LABELS.get(acc.purpose, acc.purpose))
        rows.append(
            [
                purpose,
                acc.currency,
                "",
                "",
                opening,
                "",
                "",
                "",
                "",
                "",
                minor_text(acc.opening, acc.currency),
            ]
        )
        for m in acc.movements:
            rows.append(
                [
                    purpose,
                    acc.currency,
                    fmt_time(m.at, tz),
                    m.entry_id,
                    m.kind,
                    m.rule,
                    m.case_number or "",
                    m.order_number or "",
                    m.memo,
                    minor_text(m.amount, acc.currency),
                    minor_text(m.balance_after, acc.currency),
                ]
            )
        rows.append(
            [
                purpose,
                acc.currency,
                "",
                "",
                closing,
                "",
                "",
                "",
                "",
                "",
                minor_text(acc.closing, acc.currency),
            ]
        )
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

    ctx = settings_context()
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

    report = statements.check(settings_context())
    counts = ", ".join(f"{v} {k}" for k, v in report.checked.items())
    if report.ok:
        console.print(f"ledger ok: {counts}")
        return
    for problem in report.problems:
        console.print(f"[red]{problem}[/red]", highlight=False)
    console.print(f"{len(report.problems)} problem(s); checked {counts}")
    raise typer.Exit(1)
