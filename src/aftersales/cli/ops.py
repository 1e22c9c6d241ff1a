"""Operating the installation: the database schema, the demo data, the rulebook's index
and the state diagram."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from aftersales.cli.base import Lang, app, console, settings_context
from aftersales.domain.i18n import N_
from aftersales.i18n import gettext, normalise_locale
from aftersales.settings import Settings

db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply all migrations (SQLite or PostgreSQL, from AFTERSALES_DATABASE_URL)."""
    from aftersales.services import ops

    ctx = settings_context()
    revision = ops.upgrade_schema(ctx)
    console.print(f"database at revision {revision} ({ctx.db.dialect})")


@db_app.command("current")
def db_current() -> None:
    """Show the applied migration revision."""
    from aftersales.services import ops

    console.print(ops.schema_revision(settings_context()) or "empty")


@app.command()
def demo(
    if_empty: Annotated[bool, typer.Option(help="Only when the database has no shops.")] = False,
    lang: Lang = None,
) -> None:
    """Load a demo marketplace: shops, products, buyers, orders, cases in every state. Prints
    the demo's shop codes and logins (also when `--if-empty` finds it already loaded)."""
    from aftersales.demo import load_demo, render_logins, runnable_program
    from aftersales.services.demo import demo_logins

    ctx = settings_context()
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
