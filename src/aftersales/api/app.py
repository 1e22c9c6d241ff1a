"""The ASGI application: the JSON API under ``/api/v1``.

In the embedded shape (``make run``) the same process also runs the deadline worker and
the webhook outbox dispatcher.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from aftersales import __version__
from aftersales.api import deps, pages, problems
from aftersales.api.common import NEW_PASSWORD_MARK, document_profiles
from aftersales.api.limits import BodyLimit
from aftersales.api.v1 import ROUTERS
from aftersales.jobs.deadlines import start_in_thread
from aftersales.services import ops
from aftersales.services.context import Context

DESCRIPTION = """
After-sales and dispute resolution for marketplaces.

* **Auth**: `Authorization: Bearer ast_...` (API token) or the session cookie from
  `POST /api/v1/auth/login` plus its `X-CSRF-Token` on every change.
* **Errors**: RFC 9457 `application/problem+json` with a stable `type`, `code`, the `rule`
  that refused the action, and `detail` in the language of `Accept-Language` (zh-CN, en).
* **Retries**: send `Idempotency-Key` on any POST.
* **Lists**: cursor pagination (`cursor`, `limit`), filters and `sort`.
"""


def create_app(
    ctx: Context | None = None,
    *,
    embedded_worker: bool | None = None,
    embedded_dispatcher: bool | None = None,
) -> FastAPI:
    context = ctx or Context.from_settings()
    run_worker = context.settings.embedded_worker if embedded_worker is None else embedded_worker
    run_dispatcher = (
        context.settings.embedded_dispatcher if embedded_dispatcher is None else embedded_dispatcher
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stoppers = []
        if run_worker:
            stoppers.append(start_in_thread(context))
        if run_dispatcher:
            from aftersales.jobs.outbox import start_dispatcher_in_thread

            stoppers.append(start_dispatcher_in_thread(context))
        try:
            yield
        finally:
            for _, stop in stoppers:
                stop.set()
            for thread, _ in stoppers:
                thread.join(timeout=10)

    app = FastAPI(
        title="aftersales",
        version=__version__,
        description=DESCRIPTION,
        openapi_url="/api/openapi.json",
        docs_url=None,  # served by `pages.install_docs` from local assets, not a CDN
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.ctx = context
    app.state.default_locale = context.settings.locale
    problems.install(app, deps.refused_credentials)
    app.add_middleware(BodyLimit)

    @app.get("/api/health", tags=["ops"])
    def health() -> dict[str, Any]:
        """Liveness and readiness: the database answers and deadlines are visible."""
        state = ops.health(context)
        return {
            "status": "ok",
            "version": __version__,
            "database": state.dialect,
            "worker": "embedded" if run_worker else "external",
            "deadlines_due": state.deadlines_due,
        }

    for r in ROUTERS:
        app.include_router(r)
    pages.install_docs(app)
    pages.install_home(app, context)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            # Error responses are problem documents (RFC 9457).
            for path in schema.get("paths", {}).values():
                for op in path.values():
                    for code, resp in op.get("responses", {}).items():
                        content = resp.get("content", {})
                        if code[0] in "45" and "application/json" in content:
                            content[problems.MEDIA_TYPE] = content.pop("application/json")
            _document_password_minimum(schema, context.settings.password_min_length)
            document_profiles(schema, sorted(context.profiles.current))
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _document_password_minimum(schema: dict[str, Any], minimum: int) -> None:
    """A new password's minimum length is a deployment setting, so the models mark the
    field (`password_field()`) and the schema served states this deployment's minimum."""
    for model in schema.get("components", {}).get("schemas", {}).values():
        for prop in model.get("properties", {}).values():
            if prop.pop(NEW_PASSWORD_MARK, False):
                for variant in [prop, *prop.get("anyOf", [])]:
                    if variant.get("type") == "string":
                        variant["minLength"] = minimum
