"""Configuration from ``AFTERSALES_*`` environment variables (pydantic-settings)."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AFTERSALES_", env_file=None)

    database_url: str = "sqlite:///aftersales.db"
    profile_dir: Path | None = None  # extra/overriding policy profiles (*.toml)
    default_profile: str = "douyin"
    locale: str = "zh_CN"
    # Deadline worker (operational, not policy). `worker_batch`: deadlines fired per
    # transaction. 1 keeps transactions short, so a worker never holds a busy shop's ledger
    # account (or SQLite's write lock) for long; raise it only for shops with little overlap.
    worker_batch: int = 1
    worker_poll_seconds: float = 1.0
    worker_retry_base_seconds: int = 30
    worker_retry_max_seconds: int = 3600
    embedded_worker: bool = True  # run the deadline worker inside `aftersales serve`
