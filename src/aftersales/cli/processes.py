"""The long-running processes: ``serve`` (the API), ``worker`` (due deadlines) and
``dispatcher`` (webhooks from the outbox), and ``outbox prune`` (the outbox's retention)."""

from __future__ import annotations

import logging
import signal
import threading
from typing import Annotated

import typer

from aftersales.cli.base import Lang, app, console, settings_context
from aftersales.domain.i18n import N_
from aftersales.i18n import normalise_locale, translate
from aftersales.services.context import Context
from aftersales.settings import Settings


@app.command()
def worker(
    once: Annotated[bool, typer.Option(help="Fire what is due now, then exit.")] = False,
    batch: Annotated[int | None, typer.Option(help="Deadlines per transaction.")] = None,
    name: Annotated[str | None, typer.Option(help="Worker name in the timeline.")] = None,
) -> None:
    """Fire due deadlines (R5.1, R5.3, R5.4 ...). Run several on PostgreSQL to share work."""
    from aftersales.jobs.deadlines import DeadlineWorker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    w = DeadlineWorker(settings_context(), name, batch=batch)
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
    ctx = settings_context()
    d = Dispatcher(ctx)
    if once:
        console.print(f"delivered or retried {d.run_once()}")
        print_pruned(ctx.settings, prune(ctx), None)
        return
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    d.run_forever(stop)


outbox_app = typer.Typer(no_args_is_help=True, help="The webhook outbox.")
app.add_typer(outbox_app, name="outbox")


def print_pruned(settings: Settings, count: int, lang: str | None) -> None:
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
    print_pruned(settings, prune(Context.from_settings(settings)), lang)
