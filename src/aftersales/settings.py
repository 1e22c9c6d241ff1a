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
    # Deadline worker (operational, not policy): batch size, poll interval, retry backoff.
    worker_batch: int = 100
    worker_poll_seconds: float = 1.0
    worker_retry_base_seconds: int = 30
    worker_retry_max_seconds: int = 3600
    embedded_worker: bool = True  # run the deadline worker inside `aftersales serve`
