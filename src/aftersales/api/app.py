"""The ASGI application. In the embedded shape it also runs the deadline worker."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy import text

from aftersales import __version__
from aftersales.jobs.deadlines import start_in_thread
from aftersales.services.context import Context
from aftersales.store import repo


def create_app(ctx: Context | None = None, *, embedded_worker: bool | None = None) -> FastAPI:
    context = ctx or Context.from_settings()
    run_worker = context.settings.embedded_worker if embedded_worker is None else embedded_worker

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stopper = None
        if run_worker:
            thread, stopper = start_in_thread(context)
        try:
            yield
        finally:
            if stopper is not None:
                stopper.set()
                thread.join(timeout=10)

    app = FastAPI(
        title="aftersales",
        version=__version__,
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        lifespan=lifespan,
    )
    app.state.ctx = context

    @app.get("/api/health", tags=["ops"])
    def health() -> dict[str, Any]:
        """Liveness and readiness: the database answers and deadlines are visible."""
        with context.db.read() as conn:
            conn.execute(text("SELECT 1"))
            due = repo.pending_count(conn, context.now())
        return {
            "status": "ok",
            "version": __version__,
            "database": context.db.dialect,
            "worker": "embedded" if run_worker else "external",
            "deadlines_due": due,
        }

    return app
