"""What every service needs: the database, the clock and the policy profiles."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from aftersales.domain.errors import ValidationFailed
from aftersales.domain.i18n import N_
from aftersales.domain.policy import Profile
from aftersales.profiles import load_profiles, profile_digest
from aftersales.settings import Settings
from aftersales.store import profiles as profile_store
from aftersales.store.blobs import BlobStore
from aftersales.store.blobs import from_settings as blob_store_from
from aftersales.store.db import Database

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


class ProfileChanged(RuntimeError):
    """A profile's body changed on disk without a version bump."""


@dataclass
class ProfileStore:
    """Current profiles from disk; every (id, version) a case used is frozen in the DB."""

    current: dict[str, Profile]
    _frozen: dict[tuple[str, int], Profile] = field(default_factory=dict)

    def current_for(self, conn: Connection, profile_id: str, now: datetime) -> Profile:
        profile = self.current.get(profile_id)
        if profile is None:
            raise ValidationFailed(
                "profile.unknown",
                N_("Unknown policy profile {profile}."),
                field="profile",
                profile=profile_id,
            )
        key = (profile.id, profile.version)
        if key in self._frozen:
            return profile
        digest = profile_digest(profile)
        row = profile_store.stored_profile(conn, profile.id, profile.version)
        if row is None:
            # Stored inside the caller's transaction; cached only once seen committed, so a
            # rolled-back first use cannot leave cases pointing at an unstored version.
            try:
                with conn.begin_nested():
                    profile_store.store_profile(
                        conn,
                        profile.id,
                        profile.version,
                        digest,
                        profile.model_dump(mode="json"),
                        now,
                    )
            except IntegrityError:
                row = profile_store.stored_profile(conn, profile.id, profile.version)
        if row is not None:
            if row.digest != digest:
                raise ProfileChanged(
                    f"profile {profile.id} v{profile.version} differs from the stored copy: "
                    "bump its version"
                )
            self._frozen[key] = profile
        return profile

    def for_case(self, conn: Connection, profile_id: str, version: int) -> Profile:
        """The profile version the case was opened under (R2–R5 keep applying it)."""
        key = (profile_id, version)
        if key not in self._frozen:
            row = profile_store.stored_profile(conn, profile_id, version)
            if row is None:  # pragma: no cover - a case always stores its profile first
                raise RuntimeError(f"profile {profile_id} v{version} is not stored")
            current = self.current.get(profile_id)
            frozen = Profile.model_validate(_with_later_fields(row.body, current))
            if current is not None:
                # A version older than a table (R16 [logistics], R9/R11 [intervention], R12
                # [appeals]) follows the current one's (as services read [messages]); the
                # stored copy is unchanged.
                missing = {
                    name: getattr(current, name)
                    for name in FOLLOW_CURRENT
                    if getattr(frozen, name) is None
                }
                if missing:
                    frozen = frozen.model_copy(update=missing)
            self._frozen[key] = frozen
        return self._frozen[key]


# Optional profile tables a frozen older version takes from the current version.
FOLLOW_CURRENT = ("logistics", "judgment", "reports", "intervention", "appeals")
# Fields added to a table later (R11.2, clarified in profile v7: where pay-first deducts
# from and the required deposit): a version stored before them takes the current values.
LATER_FIELDS = {"money": ("pay_first_sources", "required_deposit")}


def _with_later_fields(body: dict[str, Any], current: Profile | None) -> dict[str, Any]:
    if current is None:
        return body
    now = current.model_dump(mode="json")
    out = dict(body)
    for table, names in LATER_FIELDS.items():
        if isinstance(out.get(table), dict):
            section = dict(out[table])
            for name in names:
                section.setdefault(name, now[table][name])
            out[table] = section
    return out


@dataclass
class Context:
    db: Database
    profiles: ProfileStore
    settings: Settings
    clock: Clock = system_clock
    # Evidence file storage; built from the settings on first use (tests may set one).
    evidence_store: BlobStore | None = None

    @classmethod
    def from_settings(
        cls,
        settings: Settings | None = None,
        *,
        clock: Clock = system_clock,
        database: Database | None = None,
    ) -> Context:
        settings = settings or Settings()
        db = database or Database(settings.database_url)
        return cls(db, ProfileStore(load_profiles(settings.profile_dir)), settings, clock)

    def blobs(self) -> BlobStore:
        if self.evidence_store is None:
            self.evidence_store = blob_store_from(self.settings)
        return self.evidence_store

    def now(self) -> datetime:
        moment = self.clock()
        if moment.tzinfo is None:
            raise ValueError("the clock must return aware datetimes")
        return moment.astimezone(UTC)

    def check_not_future(self, **times: datetime | None) -> None:
        """Times pushed in by another system (paid, shipped, signed, a carrier's scan) have
        happened already: none may be later than our clock plus the configured skew
        (``AFTERSALES_CLOCK_SKEW_SECONDS``). Refused naming the field."""
        limit = self.now() + timedelta(seconds=self.settings.clock_skew_seconds)
        for name, value in times.items():
            if value is not None and value > limit:
                raise ValidationFailed(
                    "time.in_future",
                    N_("{field} lies in the future: at most {limit} (our clock plus skew)."),
                    field=name,
                    limit=limit.isoformat(timespec="seconds"),
                )
