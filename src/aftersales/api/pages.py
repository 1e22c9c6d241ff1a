"""The pages a person opens in a browser: the API docs (Swagger UI at ``/api/docs``, ReDoc at
``/api/redoc``), served with their scripts and styles from this server, never from a CDN,
and ``/``, which leads to them until the web interface exists.

The Swagger UI and ReDoc dist files come from the ``fastapi-offline`` package (pinned in
``uv.lock``); only its static directory is used, through FastAPI's own page builders.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader, Template

from aftersales import __version__
from aftersales.api.problems import locale_of
from aftersales.domain.i18n import N_
from aftersales.i18n import gettext
from aftersales.services.context import Context

DOCS_URL = "/api/docs"
REDOC_URL = "/api/redoc"
ASSETS_URL = "/api/static"


def _assets_dir() -> Path:
    return Path(str(resources.files("fastapi_offline") / "static"))


def install_docs(app: FastAPI) -> None:
    """Swagger UI and ReDoc on same-origin assets (the app is built with ``docs_url=None``,
    ``redoc_url=None``)."""
    app.mount(ASSETS_URL, StaticFiles(directory=_assets_dir()), name="docs-assets")

    def assets(request: Request) -> str:
        return f"{request.scope.get('root_path', '')}{ASSETS_URL}"

    def openapi_url(request: Request) -> str:
        return f"{request.scope.get('root_path', '')}{app.openapi_url}"

    @app.get(DOCS_URL, include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url(request),
            title=f"{app.title} – Swagger UI",
            swagger_js_url=f"{assets(request)}/swagger-ui-bundle.js",
            swagger_css_url=f"{assets(request)}/swagger-ui.css",
            swagger_favicon_url=f"{assets(request)}/favicon.png",
            oauth2_redirect_url=None,
            # No request to the public validator service either.
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get(REDOC_URL, include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url(request),
            title=f"{app.title} – ReDoc",
            redoc_js_url=f"{assets(request)}/redoc.standalone.js",
            redoc_favicon_url=f"{assets(request)}/favicon.png",
            with_google_fonts=False,
        )


# The home page's text (message ids in English, translated through the Babel catalog).
HOME_TEXT = {
    "intro": N_(
        "After-sales and dispute resolution for marketplaces. This server answers the HTTP "
        "API; its web interface is not there yet. Start here:"
    ),
    "docs": N_("API documentation (Swagger UI)"),
    "docs_note": N_("every operation, tried from the browser"),
    "redoc": N_("API reference (ReDoc)"),
    "redoc_note": N_("the same, to read"),
    "openapi": N_("OpenAPI document"),
    "openapi_note": N_("the schema, for clients and tools"),
    "health": N_("Health check"),
    "health_note": N_("the database answers; deadlines due"),
    "demo_heading": N_("Demo logins"),
    "demo_intro": N_("This database holds the demo marketplace. Its logins share the password"),
    "shop": N_("Shop"),
    "profile": N_("Profile"),
    "logins": N_("Logins"),
    "main_account": N_("main account"),
    "platform": N_("platform"),
    "buyers": N_("buyers"),
    "sign_in": N_("Sign in through the API with"),
    "printed": N_("make run prints these logins and shop codes each time it starts; so does"),
    "no_demo": N_(
        "This database holds no demo data. Load the demo marketplace (from the checkout, "
        "make run does it on an empty database) with"
    ),
    "language": N_("Language: Accept-Language zh-CN or en"),
}


@cache
def _home() -> Template:
    env = Environment(loader=PackageLoader("aftersales.api", "templates"), autoescape=True)
    return env.get_template("home.html")


def install_home(app: FastAPI, context: Context) -> None:
    """``/``: a small page leading to the docs, the health check and (when the demo is
    loaded) the demo's logins, in the caller's language (Accept-Language)."""
    from aftersales.demo import DEMO_PASSWORD, runnable_program
    from aftersales.services.demo import demo_logins

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    def home(request: Request) -> HTMLResponse:
        locale = locale_of(request)
        text = {key: gettext(message, locale) for key, message in HOME_TEXT.items()}
        root = request.scope.get("root_path", "")
        links = [
            {"href": f"{root}{href}", "label": text[key], "note": text[f"{key}_note"]}
            for key, href in (
                ("docs", DOCS_URL),
                ("redoc", REDOC_URL),
                ("openapi", app.openapi_url),
                ("health", "/api/health"),
            )
        ]
        page = _home().render(
            lang="zh-CN" if locale == "zh_CN" else "en",
            t=text,
            links=links,
            assets=f"{root}{ASSETS_URL}",
            demo=demo_logins(context),
            password=DEMO_PASSWORD,
            program=runnable_program(),
            version=__version__,
        )
        return HTMLResponse(page, headers={"Content-Language": locale.replace("_", "-")})
