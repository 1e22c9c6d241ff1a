"""Command line (Typer): database, processes, demo data, accounts, cases, the ledger, risk,
automation, arbitration and reviews. One module per group of commands; each registers its
commands on the root app of ``base`` when imported here."""

from __future__ import annotations

from aftersales.cli import (
    accounts,
    arbitration,
    automation,
    cases,
    ledger,
    ops,
    processes,
    reviews,
    risk,
)
from aftersales.cli.base import app

__all__ = [
    "accounts",
    "app",
    "arbitration",
    "automation",
    "cases",
    "ledger",
    "main",
    "ops",
    "processes",
    "reviews",
    "risk",
]


def main() -> None:
    app()
