"""Accounts and API tokens (R1): ``account create``, ``account token``."""

from __future__ import annotations

from typing import Annotated

import typer

from aftersales.cli.base import app, console, settings_context

account_app = typer.Typer(no_args_is_help=True, help="Accounts and API tokens.")
app.add_typer(account_app, name="account")


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
            settings_context(),
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

    ctx = settings_context()
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
