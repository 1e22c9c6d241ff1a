"""Tables. Money is BIGINT minor units plus a currency column; times are stored in UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on SQLite (naive text) and PostgreSQL (timestamptz)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to storage; use aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _id() -> Column[int]:
    return Column("id", Integer, primary_key=True, autoincrement=True)


policy_profiles = Table(
    "policy_profiles",
    metadata,
    _id(),
    Column("profile_id", String(40), nullable=False),
    Column("version", Integer, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("body", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("profile_id", "version"),
)

shops = Table(
    "shops",
    metadata,
    _id(),
    Column("code", String(40), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("return_address", Text, nullable=False),
    Column("profile_id", String(40), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # R6.4: {"days": [1..7 ISO weekdays], "start": "09:00", "end": "18:00"} in `timezone`.
    Column("service_hours", JSON),
)

buyers = Table(
    "buyers",
    metadata,
    _id(),
    Column("name", String(200), nullable=False, index=True),
    Column("phone", String(40), nullable=False, index=True),
    Column("ref", String(80), unique=True),  # the marketplace's own buyer id
    Column("created_at", UTCDateTime, nullable=False),
    Column("registered_at", UTCDateTime),  # R15.2: the marketplace account's age
)

products = Table(
    "products",
    metadata,
    _id(),
    Column("shop_id", ForeignKey("shops.id"), nullable=False),
    Column("sku", String(80), nullable=False),
    Column("title", String(300), nullable=False),
    Column("flags", JSON, nullable=False),
    Column("declared_no_reason_days", Integer),
    UniqueConstraint("shop_id", "sku"),
)

orders = Table(
    "orders",
    metadata,
    _id(),
    Column("number", String(64), nullable=False, unique=True),
    Column("shop_id", ForeignKey("shops.id"), nullable=False),
    Column("buyer_id", ForeignKey("buyers.id"), nullable=False, index=True),
    Column("currency", String(3), nullable=False),
    Column("freight", BigInteger, nullable=False),
    Column("shipping_insurance", Boolean, nullable=False),
    Column("paid_at", UTCDateTime, nullable=False),
    Column("ship_by", UTCDateTime),
    Column("shipped_at", UTCDateTime),
    Column("signed_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("region", String(40)),  # R8.2: the marketplace's region code (cross-border ...)
    Index("ix_orders_shop_paid", "shop_id", "paid_at"),
)

order_lines = Table(
    "order_lines",
    metadata,
    _id(),
    Column("order_id", ForeignKey("orders.id"), nullable=False, index=True),
    Column("product_id", ForeignKey("products.id"), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_price", BigInteger, nullable=False),
    Column("paid", BigInteger, nullable=False),
    Column("downloaded", Boolean, nullable=False),
    CheckConstraint("quantity > 0", name="quantity_positive"),
    CheckConstraint("paid >= 0", name="paid_not_negative"),
)

cases = Table(
    "cases",
    metadata,
    _id(),
    Column("number", String(32), nullable=False, unique=True),
    Column("shop_id", ForeignKey("shops.id"), nullable=False),
    Column("buyer_id", ForeignKey("buyers.id"), nullable=False, index=True),
    Column("order_id", ForeignKey("orders.id"), nullable=False, index=True),
    Column("type", String(32), nullable=False),
    Column("state", String(32), nullable=False),
    Column("first_reason", String(40), nullable=False),
    Column("reason", String(40), nullable=False),
    Column("description", Text, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("requested", BigInteger, nullable=False),
    Column("agreed", BigInteger),
    Column("offer_amount", BigInteger),
    Column("offer_return_required", Boolean),
    Column("offer_note", Text),
    Column("return_address", Text),
    Column("refusal_code", String(64)),
    Column("refusal_note", Text),
    Column("rejected_at", UTCDateTime),
    Column("edits", Integer, nullable=False),
    Column("profile_id", String(40), nullable=False),
    Column("profile_version", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("closed_at", UTCDateTime),
    Column("close_reason", String(40)),
    Column("deadline_kind", String(40)),
    Column("deadline_at", UTCDateTime),
    Index("ix_cases_shop_state_created", "shop_id", "state", "created_at"),
    Index("ix_cases_shop_created", "shop_id", "created_at"),
    # the to-do list (a shop's cases in one state, soonest deadline first) is a walk of it
    Index("ix_cases_shop_state_deadline", "shop_id", "state", "deadline_at", "id"),
)

case_lines = Table(
    "case_lines",
    metadata,
    _id(),
    Column("case_id", ForeignKey("cases.id"), nullable=False, index=True),
    Column("order_line_id", ForeignKey("order_lines.id"), nullable=False, index=True),
    Column("quantity", Integer, nullable=False),
    CheckConstraint("quantity > 0", name="quantity_positive"),
)

# Append-only: UPDATE and DELETE are refused by triggers (see the migration).
case_events = Table(
    "case_events",
    metadata,
    _id(),
    Column("case_id", ForeignKey("cases.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("actor_kind", String(16), nullable=False),
    Column("actor_id", String(64)),
    Column("action", String(40), nullable=False),
    Column("rule", String(16)),
    Column("strategy", String(64)),
    Column("from_state", String(32)),
    Column("to_state", String(32), nullable=False),
    Column("changes", JSON, nullable=False),
    Column("note", Text),
    UniqueConstraint("case_id", "seq"),
)

# The refund *decision*; money moves in the ledger (a later issue) keyed by this id.
refund_decisions = Table(
    "refund_decisions",
    metadata,
    _id(),
    Column("case_id", ForeignKey("cases.id"), nullable=False, index=True),
    Column("order_id", ForeignKey("orders.id"), nullable=False, index=True),
    Column("currency", String(3), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("reason", String(40), nullable=False),
    Column("rule", String(16), nullable=False),
    Column("lines", JSON, nullable=False),
    Column("decided_by_kind", String(16), nullable=False),
    Column("decided_by_id", String(64)),
    Column("decided_at", UTCDateTime, nullable=False),
    CheckConstraint("amount >= 0", name="amount_not_negative"),
)

# R5.3: one tracking number, one case. The unique key makes the check race-proof.
shipments = Table(
    "shipments",
    metadata,
    _id(),
    Column("case_id", ForeignKey("cases.id"), nullable=False, index=True),
    Column("direction", String(16), nullable=False),  # return | replacement
    Column("carrier", String(16), nullable=False),
    Column("tracking_number", String(40), nullable=False),
    Column("shipped_at", UTCDateTime, nullable=False),
    Column("freight", BigInteger, nullable=False, server_default="0"),  # R16.3
    UniqueConstraint("carrier", "tracking_number"),
)

deadlines = Table(
    "deadlines",
    metadata,
    _id(),
    Column("case_id", ForeignKey("cases.id"), nullable=False, index=True),
    Column("kind", String(40), nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("run_at", UTCDateTime, nullable=False),  # due_at, pushed back after a failure
    Column("status", String(16), nullable=False),  # pending | fired | cancelled | stale
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text),
    Column("fired_at", UTCDateTime),
    Column("fired_by", String(64)),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_deadlines_status_run_at", "status", "run_at"),
)

number_sequences = Table(
    "number_sequences",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

# --------------------------------------------------------------------------- ledger
ledger_accounts = Table(
    "ledger_accounts",
    metadata,
    _id(),
    Column("party", String(16), nullable=False),
    Column("party_id", Integer, nullable=False),  # 0: the platform's own / a single insurer
    Column("purpose", String(32), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("allow_negative", Boolean, nullable=False),
    # Running balance, kept with every posting (balances are still derivable from postings;
    # `aftersales ledger check` compares the two).
    Column("balance", BigInteger, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("party", "party_id", "purpose", "currency"),
    CheckConstraint("allow_negative OR balance >= 0", name="balance_not_negative"),
)

# Append-only: UPDATE and DELETE are refused by triggers; corrections are reversing entries.
ledger_entries = Table(
    "ledger_entries",
    metadata,
    _id(),
    Column("kind", String(32), nullable=False),
    Column("idempotency_key", String(200), nullable=False, unique=True),
    Column("fingerprint", String(64), nullable=False),
    Column("rule", String(16), nullable=False),
    Column("memo", Text, nullable=False),
    Column("shop_id", ForeignKey("shops.id"), index=True),
    Column("order_id", ForeignKey("orders.id"), index=True),
    Column("case_id", ForeignKey("cases.id"), index=True),
    Column("reverses_id", ForeignKey("ledger_entries.id"), unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_ledger_entries_kind_order", "kind", "order_id"),
)

ledger_postings = Table(
    "ledger_postings",
    metadata,
    _id(),
    Column("entry_id", ForeignKey("ledger_entries.id"), nullable=False, index=True),
    Column("account_id", ForeignKey("ledger_accounts.id"), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("balance_after", BigInteger, nullable=False),
    Index("ix_ledger_postings_account", "account_id", "id"),
)

# R14.1: a shop's withdrawals frozen until a date (recorded, never edited).
shop_freezes = Table(
    "shop_freezes",
    metadata,
    _id(),
    Column("shop_id", ForeignKey("shops.id"), nullable=False, index=True),
    Column("reason", Text, nullable=False),
    Column("rule", String(16), nullable=False),
    Column("entry_id", ForeignKey("ledger_entries.id")),
    Column("starts_at", UTCDateTime, nullable=False),
    Column("ends_at", UTCDateTime, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# A shop's standing as dated changes (R11.2: withdrawals frozen while the deposit is below
# the profile's required level, lifted when topped up). Each row switches one `status` on
# or off with its cause; the latest row per (shop, status, cause) is in force. Never edited.
shop_status_changes = Table(
    "shop_status_changes",
    metadata,
    _id(),
    Column("shop_id", ForeignKey("shops.id"), nullable=False),
    Column("status", String(40), nullable=False),  # e.g. withdrawals_frozen
    Column("active", Boolean, nullable=False),
    Column("cause", String(40), nullable=False),  # e.g. deposit_below_required
    Column("rule", String(16), nullable=False),
    Column("entry_id", ForeignKey("ledger_entries.id")),  # the movement that caused it
    Column("details", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_shop_status_changes_shop", "shop_id", "status", "cause", "id"),
)

# --------------------------------------------------------------------------- accounts (R1)
# kind: buyer | merchant | agent | admin | service (the marketplace's order system, a
# carrier or a warehouse integration). A shop's main account sets `main_shop_id`, which is
# unique: one main account per shop, race-proof.
accounts = Table(
    "accounts",
    metadata,
    _id(),
    Column("login", String(120), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("display_name", String(200), nullable=False),
    Column("password_hash", String(200)),
    Column("shop_id", ForeignKey("shops.id"), index=True),
    Column("main_shop_id", ForeignKey("shops.id"), unique=True),
    Column("buyer_id", ForeignKey("buyers.id"), unique=True),
    Column("permissions", JSON, nullable=False),
    Column("locale", String(10), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("disabled_at", UTCDateTime),
)

# Append-only audit of changes to accounts, shop settings, tokens and webhook endpoints.
audit_log = Table(
    "audit_log",
    metadata,
    _id(),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(80), nullable=False),
    Column("subject", String(80), nullable=False, index=True),  # "account:12", "shop:3"
    Column("action", String(40), nullable=False),
    Column("details", JSON, nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    _id(),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("csrf_token", String(64), nullable=False),
    Column("account_id", ForeignKey("accounts.id"), nullable=False, index=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
    Column("ip", String(64)),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    _id(),
    Column("account_id", ForeignKey("accounts.id"), nullable=False, index=True),
    Column("name", String(120), nullable=False),
    Column("prefix", String(16), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("scopes", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime),
    Column("revoked_at", UTCDateTime),
)

# Append-only: every login attempt, for rate limiting and for the security log.
login_attempts = Table(
    "login_attempts",
    metadata,
    _id(),
    Column("login", String(120), nullable=False),
    Column("ip", String(64), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("success", Boolean, nullable=False),
    Index("ix_login_attempts_login_at", "login", "at"),
    Index("ix_login_attempts_ip_at", "ip", "at"),
)

# Idempotency-Key (Stripe semantics). A cache of first results, not a business record:
# a key older than the retention window may be claimed again.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    _id(),
    Column("principal", String(80), nullable=False),
    Column("key", String(255), nullable=False),
    Column("method", String(8), nullable=False),
    Column("path", String(500), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("status", String(16), nullable=False),  # started | committed | completed | released
    Column("response_status", Integer),
    Column("response_body", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("completed_at", UTCDateTime),
    UniqueConstraint("principal", "key"),
)

# --------------------------------------------------------------------------- webhooks
# Transactional outbox: written in the same transaction as the case event it announces.
outbox_events = Table(
    "outbox_events",
    metadata,
    _id(),
    Column("event_id", String(40), nullable=False, unique=True),
    Column("type", String(60), nullable=False),
    Column("shop_id", ForeignKey("shops.id"), index=True),
    Column("case_id", ForeignKey("cases.id"), index=True),
    Column("payload", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("fanned_out_at", UTCDateTime),
    Index("ix_outbox_events_fanned_out_at_id", "fanned_out_at", "id"),
)

# shop_id NULL: a platform endpoint (receives every shop's events).
webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    _id(),
    Column("shop_id", ForeignKey("shops.id"), index=True),
    Column("url", Text, nullable=False),
    Column("secret", String(100), nullable=False),
    Column("description", String(200), nullable=False),
    Column("event_types", JSON),  # None: every event
    Column("created_at", UTCDateTime, nullable=False),
    Column("disabled_at", UTCDateTime),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    _id(),
    Column("event_id", ForeignKey("outbox_events.id"), nullable=False),
    Column("endpoint_id", ForeignKey("webhook_endpoints.id"), nullable=False, index=True),
    Column("status", String(16), nullable=False),  # pending | delivered | failed
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("last_status_code", Integer),
    Column("last_error", Text),
    Column("delivered_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("event_id", "endpoint_id"),
    Index("ix_webhook_deliveries_status_next", "status", "next_attempt_at"),
)

# Append-only: one row per HTTP attempt (the delivery log shown per endpoint).
webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    _id(),
    Column("delivery_id", ForeignKey("webhook_deliveries.id"), nullable=False, index=True),
    Column("attempt", Integer, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("status_code", Integer),
    Column("error", Text),
    Column("duration_ms", Integer, nullable=False),
)

# --------------------------------------------------------------------------- messages (R5.7)
# Append-only. A held message is seen only by its sender; editing it adds a new message
# that `revises_id` the held one (which then counts as superseded).
case_messages = Table(
    "case_messages",
    metadata,
    _id(),
    Column("case_id", ForeignKey("cases.id"), nullable=False, index=True),
    Column("author_kind", String(16), nullable=False),  # buyer | merchant | platform
    Column("account_id", ForeignKey("accounts.id")),
    Column("body", Text, nullable=False),
    Column("status", String(16), nullable=False),  # published | held
    Column("flags", JSON, nullable=False),
    Column("revises_id", ForeignKey("case_messages.id"), unique=True),
    Column("template_id", Integer),
    Column("created_at", UTCDateTime, nullable=False),
)

reply_templates = Table(
    "reply_templates",
    metadata,
    _id(),
    Column("shop_id", ForeignKey("shops.id"), nullable=False, index=True),
    Column("title", String(120), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("archived_at", UTCDateTime),
)

# --------------------------------------------------------------------------- logistics
# Append-only carrier events pushed by carriers (R16); a replayed event is recognised.
logistics_events = Table(
    "logistics_events",
    metadata,
    _id(),
    Column("carrier", String(16), nullable=False),
    Column("tracking_number", String(40), nullable=False),
    Column("status", String(24), nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("location", String(200), nullable=False),
    Column("case_id", ForeignKey("cases.id"), index=True),
    Column("applied_action", String(40)),
    UniqueConstraint("carrier", "tracking_number", "status", "occurred_at"),
)


# --------------------------------------------------------------------------- R6, R7, R8
# R6: a shop's automation strategies 售后小助手. Changes are audited (audit_log); a removed
# strategy is archived, never deleted, so timelines that name it still resolve.
automation_strategies = Table(
    "automation_strategies",
    metadata,
    _id(),
    Column("shop_id", ForeignKey("shops.id"), nullable=False, index=True),
    Column("kind", String(40), nullable=False),
    Column("name", String(120), nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("priority", Integer, nullable=False),
    Column("conditions", JSON, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("archived_at", UTCDateTime),
)

# R7.3: every switch of a shop's express refund, append-only: whether it was on at a
# moment (an order's payment) is read from this history.
express_refund_switches = Table(
    "express_refund_switches",
    metadata,
    _id(),
    Column("shop_id", ForeignKey("shops.id"), nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("by_account_id", ForeignKey("accounts.id")),
    Index("ix_express_refund_switches_shop_at", "shop_id", "at"),
)

# R7.1: each eligibility check, with every condition and whether it held (append-only).
express_refund_checks = Table(
    "express_refund_checks",
    metadata,
    _id(),
    Column("case_id", ForeignKey("cases.id"), nullable=False, index=True),
    Column("at", UTCDateTime, nullable=False),
    Column("eligible", Boolean, nullable=False),
    Column("conditions", JSON, nullable=False),
    Column("entry_id", ForeignKey("ledger_entries.id")),
)

# Warehouse / ERP receipt of a return: received and inspected, pass or fail (append-only).
warehouse_inspections = Table(
    "warehouse_inspections",
    metadata,
    _id(),
    Column("shop_id", ForeignKey("shops.id"), nullable=False),
    Column("case_id", ForeignKey("cases.id"), nullable=False, index=True),
    Column("external_id", String(80), nullable=False),  # the warehouse's own id: replays
    Column("result", String(8), nullable=False),  # pass | fail
    Column("note", Text, nullable=False),
    Column("photos", JSON, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("inspected_at", UTCDateTime, nullable=False),
    Column("reported_at", UTCDateTime, nullable=False),
    Column("reported_by", String(80), nullable=False),
    Column("applied_action", String(40)),
    UniqueConstraint("shop_id", "external_id"),
)

# The secret a shop's warehouse signs inbound receipts with (Standard Webhooks).
warehouse_secrets = Table(
    "warehouse_secrets",
    metadata,
    _id(),
    Column("shop_id", ForeignKey("shops.id"), nullable=False, index=True),
    Column("secret", String(80), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
)

# R16: the merchant's outbound parcels of an order (one tracking number, one parcel).
order_parcels = Table(
    "order_parcels",
    metadata,
    _id(),
    Column("order_id", ForeignKey("orders.id"), nullable=False, index=True),
    Column("carrier", String(16), nullable=False),
    Column("tracking_number", String(40), nullable=False),
    Column("shipped_at", UTCDateTime, nullable=False),
    Column("status", String(24), nullable=False),
    Column("status_at", UTCDateTime, nullable=False),
    UniqueConstraint("carrier", "tracking_number"),
)

# R16.2: logistics intercepts asked for on a case (append-only requests; outcome set once).
parcel_intercepts = Table(
    "parcel_intercepts",
    metadata,
    _id(),
    Column("case_id", ForeignKey("cases.id"), nullable=False, index=True),
    Column("parcel_id", ForeignKey("order_parcels.id"), nullable=False),
    Column("requested_at", UTCDateTime, nullable=False),
    Column("requested_by", String(80), nullable=False),
    Column("outcome", String(16)),  # intercepted | failed
    Column("outcome_at", UTCDateTime),
)

# R15.2: malicious-buyer reports (with their evidence and review); a confirmed one
# raises the buyer's risk level.
buyer_reports = Table(
    "buyer_reports",
    metadata,
    _id(),
    Column("shop_id", ForeignKey("shops.id"), nullable=False),
    Column("buyer_id", ForeignKey("buyers.id"), nullable=False, index=True),
    Column("status", String(16), nullable=False),  # pending | confirmed | rejected
    Column("reason", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("reviewed_at", UTCDateTime),
    Column("reviewed_by", String(80)),
    # Who filed it, what it points at (case numbers, evidence ids), the review's
    # note, and the requests a confirmation rejected (case numbers).
    Column("filed_by", String(80)),
    Column("evidence", JSON),
    Column("review_note", Text),
    Column("rejected_cases", JSON),
)

# R15.1: force-majeure reports (报备中心). Review fields are set once (pending → approved
# or rejected); the window is in the shop's local dates, both ends inclusive.
force_majeure_reports = Table(
    "force_majeure_reports",
    metadata,
    _id(),
    Column("shop_id", ForeignKey("shops.id"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("regions", JSON, nullable=False),
    Column("starts_on", Date, nullable=False),
    Column("ends_on", Date, nullable=False),
    Column("description", Text, nullable=False),
    Column("status", String(16), nullable=False),  # pending | approved | rejected
    Column("filed_by", String(80), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("reviewed_at", UTCDateTime),
    Column("reviewed_by", String(80)),
    Column("review_note", Text),
    CheckConstraint("ends_on >= starts_on", name="window_ordered"),
)

# R9.3: evidence items (append-only). The file lives in the blob store under
# `content_hash`; `filename` is the uploader's name, sanitised, for display only. Since
# 0011 an image is served re-encoded without its metadata: `original_hash`/`original_size`
# are the uploaded file's (NULL on older rows, which were served as uploaded).
evidence_items = Table(
    "evidence_items",
    metadata,
    _id(),
    Column("case_id", ForeignKey("cases.id"), nullable=False, index=True),
    Column("uploaded_by", String(80), nullable=False),  # the actor id
    Column("account_id", Integer),
    Column("party", String(16), nullable=False),  # buyer | merchant | platform
    Column("kind", String(32), nullable=False),
    Column("content_hash", String(64), nullable=False, index=True),
    Column("size", BigInteger, nullable=False),
    Column("media_type", String(40), nullable=False),  # sniffed from the content
    Column("original_hash", String(64)),
    Column("original_size", BigInteger),
    Column("width", Integer),
    Column("height", Integer),
    Column("filename", String(255), nullable=False),
    Column("description", Text, nullable=False),
    Column("first_submission", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# R9: platform interventions (平台介入), one row per round on a case (a buyer's appeal
# opens a new round, R12.2). The row holds the round's current state; everything that
# happened to it is in the case timeline. `status`: open | ruled | withdrawn | legal_closed.
interventions = Table(
    "interventions",
    metadata,
    _id(),
    Column("case_id", ForeignKey("cases.id"), nullable=False, index=True),
    Column("shop_id", ForeignKey("shops.id"), nullable=False, index=True),
    Column("round", Integer, nullable=False),
    Column("opened_by", String(16), nullable=False),  # buyer | merchant (R9.1)
    Column("opened_by_actor", String(80), nullable=False),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("statement", Text, nullable=False),
    Column("urgent", Boolean, nullable=False),
    Column("merchant_response_due", UTCDateTime, nullable=False),  # R9.3: 24 h / 2 h
    Column("merchant_responded_at", UTCDateTime),
    Column("merchant_response", Text),
    Column("evidence_due", UTCDateTime, nullable=False),  # R9.3
    Column("ruling_due", UTCDateTime, nullable=False),  # the agent queue's deadline
    Column("status", String(16), nullable=False),
    Column("closed_at", UTCDateTime),
    Column("appeal_of_ruling_id", Integer),  # R12.2: the ruling a buyer appealed
    Column("excluded_agent", String(80)),  # R12: the agent of the appealed ruling
    Column("version", Integer, nullable=False),
    UniqueConstraint("case_id", "round"),
)

# R10.4/R10.5: rulings (append-only). One per intervention round: two agents ruling on
# one intervention at once write one row; the other gets a conflict.
rulings = Table(
    "rulings",
    metadata,
    _id(),
    Column("intervention_id", ForeignKey("interventions.id"), nullable=False, unique=True),
    Column("case_id", ForeignKey("cases.id"), nullable=False, index=True),
    Column("shop_id", ForeignKey("shops.id"), nullable=False, index=True),
    Column("agent", String(80), nullable=False),
    Column("ruled_at", UTCDateTime, nullable=False),
    Column("liability", String(16), nullable=False),
    Column("remedy", String(32), nullable=False),
    Column("freight_payer", String(16), nullable=False),
    Column("return_risk", String(16), nullable=False),
    Column("amount", BigInteger),  # the money ruled, minor units (None: goods or reject)
    Column("currency", String(3), nullable=False),
    Column("reasons", Text, nullable=False),  # the agent's written reasons
    Column("overridden", Boolean, nullable=False),  # R10.5: differs from the engine
    Column("override_reason", Text),
    Column("recommendation", JSON, nullable=False),  # the engine's output, as shown
    Column("force_majeure_exempt", Boolean, nullable=False),  # R13.1
)

# R12: appeals against a ruling. A merchant appeal (R12.1) is reviewed by another agent:
# pending -> upheld | dismissed. A buyer appeal (R12.2) is a new intervention round
# (status reheard). One appeal per party per ruling.
appeals = Table(
    "appeals",
    metadata,
    _id(),
    Column("ruling_id", ForeignKey("rulings.id"), nullable=False, index=True),
    Column("case_id", ForeignKey("cases.id"), nullable=False, index=True),
    Column("shop_id", ForeignKey("shops.id"), nullable=False, index=True),
    Column("party", String(16), nullable=False),  # merchant | buyer
    Column("channel", String(16), nullable=False),  # appeal | ticket (R12.2)
    Column("filed_by", String(80), nullable=False),
    Column("filed_at", UTCDateTime, nullable=False),
    Column("grounds", String(16), nullable=False),  # new_evidence | misjudgment
    Column("statement", Text, nullable=False),
    Column("evidence", JSON, nullable=False),  # evidence item ids added after the ruling
    Column("decide_by", UTCDateTime, nullable=False),
    Column("status", String(16), nullable=False),
    Column("reviewed_by", String(80)),
    Column("decided_at", UTCDateTime),
    Column("decision_note", Text),
    Column("refunded_entries", JSON),  # R12.1: ledger entries returning a deduction
    Column("version", Integer, nullable=False),
    UniqueConstraint("ruling_id", "party"),
)

# R9.2: facts the platform records that keep a dispute out of intervention (append-only):
# kind off_platform | invalid_transaction (an order), not_actual_consumer (an order's
# buyer), legal_proceedings (a case; it also ends an open intervention).
dispute_flags = Table(
    "dispute_flags",
    metadata,
    _id(),
    Column("order_id", ForeignKey("orders.id"), index=True),
    Column("case_id", ForeignKey("cases.id"), index=True),
    Column("kind", String(32), nullable=False),
    Column("note", Text, nullable=False),
    Column("flagged_by", String(80), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# The agent queue's assignments (append-only): the newest row for an item is who has it
# (agent None: released). item_kind: intervention | appeal | force_majeure | buyer_report.
queue_assignments = Table(
    "queue_assignments",
    metadata,
    _id(),
    Column("item_kind", String(16), nullable=False),
    Column("item_id", Integer, nullable=False),
    Column("agent", String(80)),
    Column("assigned_by", String(80), nullable=False),
    Column("assigned_at", UTCDateTime, nullable=False),
    Index("ix_queue_assignments_item", "item_kind", "item_id"),
)

# --------------------------------------------------------------------------- reviews (R12.3)
# Buyers' reviews of an order line, one per line (append-only). A review removed by an
# upheld appeal stays here; its appeal's decision says so (review_appeal_decisions).
product_reviews = Table(
    "product_reviews",
    metadata,
    _id(),
    Column("order_line_id", ForeignKey("order_lines.id"), nullable=False, unique=True),
    Column("order_id", ForeignKey("orders.id"), nullable=False, index=True),
    Column("product_id", ForeignKey("products.id"), nullable=False, index=True),
    Column("shop_id", ForeignKey("shops.id"), nullable=False, index=True),
    Column("buyer_id", ForeignKey("buyers.id"), nullable=False, index=True),
    Column("rating", Integer, nullable=False),  # 1-5
    Column("topic", String(24), nullable=False),  # domain.reviews.Topic
    Column("text", Text, nullable=False),
    Column("source", String(16), nullable=False),  # platform | buyer
    Column("recorded_by", String(80), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),  # when the buyer wrote it
    Column("recorded_at", UTCDateTime, nullable=False),  # when it reached us
    CheckConstraint("rating >= 1 AND rating <= 5", name="rating_range"),
)

# R12.3: a shop's appeals on a negative review (append-only). `attempt` counts a review's
# appeals from 1: two filings racing for the same attempt write one row. An appeal is
# pending until its decision row exists.
review_appeals = Table(
    "review_appeals",
    metadata,
    _id(),
    Column("review_id", ForeignKey("product_reviews.id"), nullable=False),
    Column("shop_id", ForeignKey("shops.id"), nullable=False, index=True),
    Column("attempt", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Column("evidence", JSON, nullable=False),  # [{kind, ref, description}]
    Column("filed_by", String(80), nullable=False),
    Column("filed_at", UTCDateTime, nullable=False),
    Column("expected_from", UTCDateTime, nullable=False),  # decision_workdays_min
    Column("decide_by", UTCDateTime, nullable=False),  # decision_workdays_max
    Column("profile_id", String(40), nullable=False),
    Column("profile_version", Integer, nullable=False),
    UniqueConstraint("review_id", "attempt"),
)

# R12.3: the agent's decision on an appeal, one per appeal (append-only; the unique key
# makes a second decision a conflict). upheld: the review no longer counts.
review_appeal_decisions = Table(
    "review_appeal_decisions",
    metadata,
    _id(),
    Column("appeal_id", ForeignKey("review_appeals.id"), nullable=False, unique=True),
    Column("review_id", ForeignKey("product_reviews.id"), nullable=False, index=True),
    Column("outcome", String(16), nullable=False),  # upheld | dismissed
    Column("note", Text, nullable=False),
    Column("decided_by", String(80), nullable=False),
    Column("decided_at", UTCDateTime, nullable=False),
)

# R9.3: a platform agent's assessment of one evidence item (append-only): relevant, true,
# whom it supports and the claim it speaks to. The newest row for an item supersedes the
# older ones; the judgment (R10, services.judgment) reads only the newest.
evidence_assessments = Table(
    "evidence_assessments",
    metadata,
    _id(),
    Column("evidence_id", ForeignKey("evidence_items.id"), nullable=False, index=True),
    Column("case_id", ForeignKey("cases.id"), nullable=False, index=True),
    Column("relevant", Boolean, nullable=False),
    Column("credible", Boolean, nullable=False),
    Column("supports", String(16), nullable=False),  # buyer | merchant | neutral
    Column("claim", String(32)),  # an Issue value; None: the dispute as a whole
    Column("note", Text, nullable=False),
    Column("assessed_by", String(80), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)
