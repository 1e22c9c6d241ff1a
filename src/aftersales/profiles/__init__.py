"""Policy profile registry: the shipped TOML files plus an optional operator directory.

Profiles are loaded once at start-up and validated by :class:`aftersales.domain.policy.
Profile`. Storage keeps a frozen copy of every (id, version) a case was opened under, so a
case keeps its rules even after the file changes (see ``services.profiles``).
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from aftersales.domain.policy import Profile

DEFAULT_PROFILE = "douyin"


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _resolve(raw: dict[str, dict[str, Any]]) -> dict[str, Profile]:
    """Validate every raw profile, applying ``extends`` (tables merge, values replace)."""

    def body(pid: str, chain: tuple[str, ...] = ()) -> dict[str, Any]:
        if pid in chain:
            raise ValueError(f"profile {pid}: circular extends {' -> '.join((*chain, pid))}")
        data = dict(raw[pid])
        parent = data.pop("extends", None)
        if parent is None:
            return data
        if parent not in raw:
            raise ValueError(f"profile {pid} extends unknown profile {parent}")
        return _merge(body(parent, (*chain, pid)), data)

    return {pid: Profile.model_validate(body(pid)) for pid in raw}


def profile_digest(profile: Profile) -> str:
    body = json.dumps(profile.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()


def load_profiles(extra_dir: Path | None = None) -> dict[str, Profile]:
    """Shipped profiles, overridden or extended by ``*.toml`` files in ``extra_dir``."""
    raw: dict[str, dict[str, Any]] = {}
    for entry in resources.files(__package__).iterdir():
        if entry.name.endswith(".toml"):
            data = tomllib.loads(entry.read_text(encoding="utf-8"))
            raw[str(data.get("id", entry.name))] = data
    if extra_dir is not None:
        for path in sorted(extra_dir.glob("*.toml")):
            data = tomllib.loads(path.read_text(encoding="utf-8"))
            raw[str(data.get("id", path.stem))] = data
    return _resolve(raw)
