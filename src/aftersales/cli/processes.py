"""The long-running processes: ``serve`` (the API), ``worker`` (due deadlines) and
``dispatcher`` (webhooks from the outbox)."""

from __future__ import annotations

import logging
import signal
import threading
from typing import Annotated

import typer

from aftersales.cli.base import app, console, settings_context


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
    """Deliver webhooks from the outbox (signed, retried with backoff)."""
    from aftersales.jobs.outbox import Dispatcher

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    d = Dispatcher(settings_context())
    if once:
        console.print(f"delivered or retried {d.run_once()}")
        return
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    d.run_forever(stop)
