"""Configuration from ``AFTERSALES_*`` environment variables (pydantic-settings)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AFTERSALES_", env_file=None)

    database_url: str = "sqlite:///aftersales.db"
    profile_dir: Path | None = None  # extra/overriding policy profiles (*.toml)
    default_profile: str = "douyin"
    locale: str = "zh_CN"
    # Deadline worker (operational, not policy). `worker_batch`: deadlines claimed and fired
    # per transaction (one commit per batch). A batch fires the deadlines that may refund
    # last, grouped by shop, so it holds a shop's ledger account only for its refunds; lower
    # it if people's refunds on a busy shop wait on the worker, raise it for fewer commits.
    worker_batch: int = Field(default=20, ge=1)
    worker_poll_seconds: float = 1.0
    worker_retry_base_seconds: int = 30
    worker_retry_max_seconds: int = 3600
    embedded_worker: bool = True  # run the deadline worker inside `aftersales serve`
    # Accounts and sessions (operational security, not policy).
    session_hours: int = 12
    session_cookie_secure: bool = False  # set true behind HTTPS
    login_window_minutes: int = 15
    login_max_failures_per_login: int = 5
    login_max_failures_per_ip: int = 30
    password_min_length: int = 8
    # Request bodies (operational, not policy): the largest JSON body accepted (1 MiB).
    # Evidence uploads have their own caps per file type below.
    max_body_bytes: int = 1024 * 1024
    # Orders pushed in: a time (paid, shipped, signed, carrier scan) may be this far ahead of
    # our clock (the pusher's clock runs fast); anything later is refused as in the future.
    clock_skew_seconds: int = Field(default=300, ge=0)
    idempotency_hours: int = 24  # Idempotency-Key replay window (Stripe: 24 h)
    # A key younger than this is in flight; an older one still `started` (its request died
    # before its effect) is claimed again. At least 1 s: a new claim is always later.
    idempotency_lease_seconds: int = Field(default=60, ge=1)
    # Webhooks: outbox dispatcher.
    embedded_dispatcher: bool = True  # run the outbox dispatcher inside `aftersales serve`
    webhook_poll_seconds: float = 1.0
    webhook_timeout_seconds: float = 10.0
    webhook_max_attempts: int = 12
    webhook_retry_base_seconds: int = 30
    webhook_retry_max_seconds: int = 6 * 3600
    webhook_lease_seconds: int = 60
    webhook_allow_private_networks: bool = False  # allow 127.0.0.1/10.x endpoints (dev, tests)
    # Outbox retention: events older than this whose every delivery is finished (delivered,
    # or failed after its last attempt) are deleted with their deliveries and attempt log,
    # by the dispatcher and `aftersales outbox prune`, `outbox_prune_batch` events per
    # transaction. 0 keeps them forever. The case timeline is never pruned.
    outbox_retention_days: int = Field(default=30, ge=0)
    outbox_prune_batch: int = Field(default=1000, ge=1)
    # Evidence uploads (operational limits, not rulebook numbers).
    evidence_storage: Literal["local", "s3"] = "local"
    # None: `<database file>-evidence/` beside the SQLite file (`aftersales.db-evidence/`,
    # ignored by git), or `var/evidence` under the working directory for PostgreSQL. Never
    # inside a web root: files are served only by the API.
    evidence_dir: Path | None = None
    evidence_bucket: str | None = None
    evidence_endpoint_url: str | None = None  # S3-compatible stores (MinIO, OSS, COS)
    evidence_region: str | None = None
    evidence_key_prefix: str = "evidence/"
    evidence_max_image_bytes: int = 10 * 1024 * 1024
    evidence_max_video_bytes: int = 200 * 1024 * 1024
    evidence_max_pdf_bytes: int = 20 * 1024 * 1024
    evidence_max_pixels: int = 50_000_000  # width × height (× frames) of an image
    # Bytes an image may carry after its end (padding); more is refused (a polyglot's
    # payload, a phone's appended video). Re-encoding drops them either way.
    evidence_max_trailing_bytes: int = 64 * 1024
