"""The bench's floor for one HTTP action: a bare FastAPI endpoint doing one durable INSERT.

It runs as its own process through the same server start as `aftersales serve`
(:mod:`aftersales.api.server`: same uvicorn settings, same TCP_NODELAY listener, same
number of workers), on the same kind of engine (:class:`aftersales.store.db.Database`,
its pool settings), with a sync endpoint in the same thread pool. Whatever the real action
costs beyond this is the engine's own work.

    python -m aftersales.sim.bare --port 8801 --workers 1   # AFTERSALES_DATABASE_URL set
"""

from __future__ import annotations

import argparse
import os
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from sqlalchemy import text

from aftersales.store.db import Database

TABLE = "bench_bare"
CREATE = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} "
    "(id BIGSERIAL PRIMARY KEY, at TIMESTAMPTZ NOT NULL, body TEXT NOT NULL)"
)


def create_app() -> FastAPI:
    db = Database(os.environ["AFTERSALES_DATABASE_URL"])
    app = FastAPI()
    insert = text(f"INSERT INTO {TABLE} (at, body) VALUES (:at, :body) RETURNING id")

    @app.get("/api/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/bare")
    def bare(body: dict[str, Any]) -> dict[str, int]:
        with db.write() as conn:  # one row, one commit (synchronous_commit on)
            new_id = conn.execute(insert, {"at": datetime.now(UTC), "body": str(body)}).scalar()
        return {"id": int(new_id or 0)}

    return app


def main() -> None:
    from aftersales.api import server

    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--workers", type=int, default=1)
    a = p.parse_args()
    server.run("aftersales.sim.bare:create_app", host=a.host, port=a.port, workers=a.workers)


if __name__ == "__main__":
    main()
