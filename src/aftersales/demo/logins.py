"""The demo's accounts, one of every role, and how their logins are printed with the
commands to try (runnable as printed from the checkout root)."""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import sys
from functools import partial
from pathlib import Path
from typing import Any

from aftersales.domain.accounts import AccountKind, Permission
from aftersales.domain.errors import Conflict
from aftersales.domain.i18n import N_
from aftersales.i18n import translate
from aftersales.services import accounts
from aftersales.services.context import Context
from aftersales.services.demo import DEMO_BUYER_REF as _DEMO_BUYER_REF
from aftersales.services.demo import (
    DEMO_PLATFORM_NAMES,
    DemoLogins,
)

DEMO_PASSWORD = "demo-password"


def demo_accounts(ctx: Context, shop_codes: list[str], stamp: str, buyers: int) -> None:
    """Logins for the demo (R1): an admin, an agent, each shop's main account and an
    after-sales sub-account, and each buyer. A login taken by an earlier demo is kept."""
    specs: list[dict[str, Any]] = [
        {"kind": kind, "login": kind.value, "display_name": name}
        for kind, name in DEMO_PLATFORM_NAMES.items()
    ]
    for i, code in enumerate(shop_codes, 1):
        specs.append(
            {"kind": AccountKind.MERCHANT, "login": f"shop{i}", "shop_code": code, "main": True}
        )
        specs.append(
            {
                "kind": AccountKind.MERCHANT,
                "login": f"shop{i}-cs",
                "shop_code": code,
                "permissions": [Permission.HANDLE_AFTERSALES.value],
            }
        )
    for k in range(1, buyers + 1):
        specs.append(
            {
                "kind": AccountKind.BUYER,
                "login": f"buyer{k}",
                "buyer_ref": f"{_DEMO_BUYER_REF}{stamp}-buyer{k}",
            }
        )
    for spec in specs:
        with contextlib.suppress(Conflict):
            accounts.create_account(ctx, None, password=DEMO_PASSWORD, **spec)


def runnable_program() -> str:
    """How to start this CLI again from the current directory: `aftersales` when that is
    what PATH finds, else the script beside this Python (`.venv/bin/aftersales` from the
    checkout root after `make run`), else `python -m aftersales.cli`."""
    script = Path(sys.executable).parent / "aftersales"
    if not script.is_file():
        return f"{shlex.quote(sys.executable)} -m aftersales.cli"
    on_path = shutil.which("aftersales")
    if on_path and Path(on_path).resolve() == script.resolve():
        return "aftersales"
    shown = os.path.relpath(script)
    if shown.startswith(".."):
        shown = str(script)
    return shlex.quote(shown if "/" in shown else f"./{shown}")


def render_logins(found: DemoLogins, locale: str, program: str) -> str:
    """The demo's shop codes beside their logins, for the terminal (``program``: how this CLI
    is started from the current directory)."""
    t = partial(translate, locale=locale)
    if not found.shops:
        return t(N_("No demo data: load it with {command}"), command=f"{program} demo")
    main, shop_label = t(N_("main account")), t(N_("shop"))
    lines = [t(N_("Demo logins (password {password}):"), password=DEMO_PASSWORD)]
    platform, buyers = t(N_("platform")), t(N_("buyers"))
    if found.platform:
        lines.append(f"  {platform}: {', '.join(found.platform)}")
    unused = []
    for shop in found.shops:
        if not shop.logins:
            unused.append(shop.code)
            continue
        who = ", ".join(
            f"{a.login} ({main if a.main else ', '.join(a.permissions)})" for a in shop.logins
        )
        lines.append(f"  {shop_label} {shop.code} {shop.name} ({shop.profile}): {who}")
    if found.buyers:
        lines.append(f"  {buyers}: {', '.join(found.buyers)}")
    if unused:  # a demo loaded again: its logins were taken by the first one
        label = t(N_("demo shops without logins"))
        lines.append(f"  {label}: {', '.join(unused)}")
    first = next((s.code for s in found.shops if s.logins), found.shops[0].code)
    try_label, shows = t(N_("try")), t(N_("requests of this shop"))
    lines.append(f"{try_label}: {program} case list --shop {first}  # {shows}")
    return "\n".join(lines)
