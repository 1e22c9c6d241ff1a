"""R12.3 negative-review appeals and the positive-review rate through the services, on
SQLite and PostgreSQL. Tests marked with the ``numbers`` fixture run with the shipped
tiktok profile and with a copy whose every R12.3 number differs."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from aftersales.domain.accounts import AccountKind, Permission
from aftersales.domain.calendar import add_workdays
from aftersales.domain.case_types import ActorKind
from aftersales.domain.errors import (
    Conflict,
    Forbidden,
    IllegalTransition,
    NotFound,
    ValidationFailed,
)
from aftersales.domain.reviews import (
    POSITIVE_MIN_RATING,
    AppealStatus,
    EvidenceKind,
    EvidenceRef,
    ReviewSource,
    Topic,
)
from aftersales.services import reviews as svc
from aftersales.services.actors import Actor
from aftersales.services.context import Context
from aftersales.store import catalog as catalog_store
from tests.conftest import FakeClock
from tests.factories import make_world
from tests.reviews.support import (
    AGENT,
    ORDER_SYSTEM,
    add_parcel,
    file,
    install_other_numbers,
    rate,
    reviewed,
    rules,
    tiktok_world,
    with_review_rules,
)


@pytest.fixture(params=["shipped", "other_numbers"])
def numbers(request: pytest.FixtureRequest, ctx: Context) -> str:
    """The tiktok profile as shipped, or with other R12.3 numbers."""
    if request.param == "other_numbers":
        install_other_numbers(ctx)
    return str(request.param)


def _tz(ctx: Context) -> ZoneInfo:
    return ZoneInfo(ctx.profiles.current["tiktok"].timezone)


def _local(day: date, at: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def _product_id(ctx: Context, shop_id: int, sku: str = "PLAIN") -> int:
    with ctx.db.read() as conn:
        pid = catalog_store.product_id_by_sku(conn, shop_id, sku)
        assert pid is not None
        return pid


# --------------------------------------------------------------------------- the window
def test_R12_3_appeal_on_the_last_day_of_the_window_is_accepted(
    ctx: Context, clock: FakeClock, numbers: str
) -> None:
    w = tiktok_world(ctx)
    r = reviewed(w)
    tz = _tz(ctx)
    last_day = r.review.created_at.astimezone(tz).date() + timedelta(days=r.rules.window_days)
    clock.now = _local(last_day, time(23, 59, 59), tz)
    appeal = file(r)
    assert (appeal.status, appeal.attempt, appeal.review_id) == (
        AppealStatus.PENDING,
        1,
        r.review.id,
    )
    assert appeal.filed_at == clock.now


def test_R12_3_one_day_late_is_refused(ctx: Context, clock: FakeClock, numbers: str) -> None:
    w = tiktok_world(ctx)
    r = reviewed(w)
    tz = _tz(ctx)
    last_day = r.review.created_at.astimezone(tz).date() + timedelta(days=r.rules.window_days)
    clock.now = _local(last_day + timedelta(days=1), time(0), tz)
    with pytest.raises(IllegalTransition) as err:
        file(r)
    assert (err.value.code, err.value.rule) == ("review_appeal.window_closed", "R12.3")
    assert err.value.params["days"] == r.rules.window_days
    assert svc.list_appeals(ctx, r.shop) == []


def test_R12_3_window_counts_from_when_the_buyer_wrote_the_review(
    ctx: Context, clock: FakeClock, numbers: str
) -> None:
    """A review the marketplace pushes late keeps the date the buyer wrote it."""
    w = tiktok_world(ctx)
    days = rules(ctx).window_days
    today = clock.now
    written = today - timedelta(days=days + 1)
    clock.now = written  # the order was paid and signed for before the review
    number = w.order()
    clock.now = today
    review = svc.record_review(
        ctx,
        ORDER_SYSTEM,
        order_number=number,
        order_line_id=w.line_id(number),
        rating=1,
        topic=Topic.OTHER,
        created_at=written,
    )
    assert (review.created_at, review.recorded_at) == (written, clock.now)
    with pytest.raises(IllegalTransition) as err:
        svc.file_appeal(
            ctx,
            w.merchant,
            review.id,
            reason="Late.",
            evidence=[EvidenceRef(EvidenceKind.ORDER, number)],
        )
    assert err.value.code == "review_appeal.window_closed"


# --------------------------------------------------------------------------- topics
def test_R12_3_quality_review_is_not_appealable(ctx: Context) -> None:
    excluded = rules(ctx).excluded_topics
    assert {"product_quality", "service"} <= set(excluded)  # the rule's own words
    w = tiktok_world(ctx)
    for topic in excluded:
        r = reviewed(w, topic=Topic(topic))
        with pytest.raises(IllegalTransition) as err:
            file(r)
        assert (err.value.code, err.value.rule) == ("review_appeal.topic_excluded", "R12.3")
        assert err.value.params["topic"] == topic


def test_R12_3_excluded_topics_come_from_the_profile(ctx: Context, numbers: str) -> None:
    w = tiktok_world(ctx)
    excluded = set(rules(ctx).excluded_topics)
    for topic in Topic:
        r = reviewed(w, topic=topic)
        if topic.value in excluded:
            with pytest.raises(IllegalTransition):
                file(r)
        else:
            assert file(r).status is AppealStatus.PENDING


# --------------------------------------------------------------------------- negative only
def test_R12_3_only_a_negative_review_is_appealable(ctx: Context, numbers: str) -> None:
    w = tiktok_world(ctx)
    worst_negative = rules(ctx).negative_max_rating
    ok = reviewed(w, rating=worst_negative)
    assert ok.review.negative is True
    assert file(ok).status is AppealStatus.PENDING
    not_negative = reviewed(w, rating=worst_negative + 1)
    assert not_negative.review.negative is False
    with pytest.raises(IllegalTransition) as err:
        file(not_negative)
    assert (err.value.code, err.value.rule) == ("review_appeal.not_negative", "R12.3")
    assert err.value.params["max"] == worst_negative


# --------------------------------------------------------------------------- evidence
def test_R12_3_missing_chat_evidence_is_refused(ctx: Context, numbers: str) -> None:
    required = rules(ctx).required_evidence
    assert "chat" in required
    w = tiktok_world(ctx)
    r = reviewed(w)
    for kind in required:
        given = r.evidence([k for k in required if k != kind])
        with pytest.raises(ValidationFailed) as err:
            file(r, given)
        assert (err.value.code, err.value.rule) == ("review_appeal.evidence_missing", "R12.3")
        assert (err.value.params["kind"], err.value.params["field"]) == (kind, "evidence")
    assert file(r).status is AppealStatus.PENDING


def test_R12_3_evidence_must_be_about_the_reviewed_order(ctx: Context) -> None:
    w = tiktok_world(ctx)
    r = reviewed(w)
    other = reviewed(w)

    def refused(kind: EvidenceKind, ref: str, code: str = "review_appeal.evidence_not_of_order"):
        given = [e for e in r.evidence() if e.kind is not kind] + [EvidenceRef(kind, ref)]
        with pytest.raises(ValidationFailed) as err:
            file(r, given)
        assert (err.value.code, err.value.rule) == (code, "R12.3"), ref

    refused(EvidenceKind.ORDER, other.order_number)
    refused(EvidenceKind.CHAT, f"message:{other.message_id}")
    refused(EvidenceKind.CHAT, "evidence:999999")
    refused(EvidenceKind.CHAT, "the buyer said so", "review_appeal.chat_ref_format")
    # Logistics: any reference while the order has no parcel recorded; once it has, one
    # of its tracking numbers.
    tracking = add_parcel(w, r.order_number)
    refused(EvidenceKind.LOGISTICS, r.tracking)
    given = [e for e in r.evidence() if e.kind is not EvidenceKind.LOGISTICS]
    given.append(EvidenceRef(EvidenceKind.LOGISTICS, tracking.lower(), "our parcel"))
    appeal = file(r, given)
    assert {e.kind for e in appeal.evidence} >= {EvidenceKind.LOGISTICS, EvidenceKind.ORDER}


# --------------------------------------------------------------------------- one at a time
def test_R12_3_one_pending_appeal_per_review(ctx: Context, numbers: str) -> None:
    w = tiktok_world(ctx)
    r = reviewed(w)
    file(r)
    with pytest.raises(Conflict) as err:
        file(r, [*r.evidence(), r.new_chat_message()])
    assert (err.value.code, err.value.rule) == ("review_appeal.already_pending", "R12.3")


def test_R12_3_retry_after_dismissal_needs_new_evidence(
    ctx: Context, clock: FakeClock, numbers: str
) -> None:
    w = tiktok_world(ctx)
    r = reviewed(w)
    first = file(r)
    clock.advance(days=1)
    dismissed = svc.decide_appeal(ctx, AGENT, first.id, uphold=False, note="Not shown.")
    assert dismissed.status is AppealStatus.DISMISSED
    with pytest.raises(ValidationFailed) as err:
        file(r)  # the same evidence again
    assert (err.value.code, err.value.rule) == ("review_appeal.no_new_evidence", "R12.3")
    retry = file(r, [*r.evidence(), r.new_chat_message()])
    assert (retry.attempt, retry.status) == (2, AppealStatus.PENDING)


def test_R12_3_a_removed_review_is_not_appealed_again(ctx: Context, numbers: str) -> None:
    w = tiktok_world(ctx)
    r = reviewed(w)
    appeal = file(r)
    svc.decide_appeal(ctx, AGENT, appeal.id, uphold=True, note="The buyer reviewed a parcel.")
    with pytest.raises(IllegalTransition) as err:
        file(r, [*r.evidence(), r.new_chat_message()])
    assert (err.value.code, err.value.rule) == ("review_appeal.review_removed", "R12.3")


def test_R12_3_a_second_decision_is_a_conflict(ctx: Context) -> None:
    w = tiktok_world(ctx)
    appeal = file(reviewed(w))
    svc.decide_appeal(ctx, AGENT, appeal.id, uphold=False, note="No.")
    other_agent = Actor.platform("agent-10")
    with pytest.raises(Conflict) as err:
        svc.decide_appeal(ctx, other_agent, appeal.id, uphold=True, note="Yes.")
    assert err.value.code == "review_appeal.already_decided"
    [stored] = svc.list_appeals(ctx, AGENT)
    assert (stored.status, stored.decided_by, stored.decision_note) == (
        AppealStatus.DISMISSED,
        AGENT.id,
        "No.",
    )


def test_R12_3_a_decision_needs_a_note(ctx: Context) -> None:
    appeal = file(reviewed(tiktok_world(ctx)))
    with pytest.raises(ValidationFailed) as err:
        svc.decide_appeal(ctx, AGENT, appeal.id, uphold=True, note="  ")
    assert err.value.params["field"] == "note"


# --------------------------------------------------------------------------- the rate
def test_R12_3_upheld_appeal_removes_review_from_positive_rate(
    ctx: Context, clock: FakeClock, numbers: str
) -> None:
    w = tiktok_world(ctx)
    pid = _product_id(ctx, w.shop_id)
    reviewed(w, rating=5)
    negative = reviewed(w)
    dismissed_one = reviewed(w)
    assert rate(ctx, pid) == pytest.approx(1 / 3)
    lost = file(dismissed_one)
    svc.decide_appeal(ctx, AGENT, lost.id, uphold=False, note="The review stands.")
    assert rate(ctx, pid) == pytest.approx(1 / 3)
    before = clock.now
    clock.advance(days=2)
    won = file(negative)
    svc.decide_appeal(ctx, AGENT, won.id, uphold=True, note="Reviewed another shop's parcel.")
    assert rate(ctx, pid) == pytest.approx(1 / 2)
    # Replayed at an earlier moment, the review still counted then.
    with ctx.db.read() as conn:
        assert svc.positive_review_rate(conn, pid, before) == pytest.approx(1 / 3)
    # The review is kept, marked as removed by the appeal.
    listed = svc.product_reviews(ctx, w.merchant, w_code(ctx, w.shop_id), "PLAIN")
    assert (listed.counted, listed.positive_rate) == (2, pytest.approx(1 / 2))
    removed = {v.id: v.removed_by_appeal for v in listed.reviews}
    assert removed == {
        negative.review.id: won.id,
        dismissed_one.review.id: None,
        listed.reviews[-1].id: None,
    }


def w_code(ctx: Context, shop_id: int) -> str:
    with ctx.db.read() as conn:
        return catalog_store.shop_code(conn, shop_id)


def test_positive_review_rate_counts_ratings_of_4_and_5_and_is_none_without_reviews(
    ctx: Context, clock: FakeClock
) -> None:
    w = make_world(ctx)  # douyin: reviews and the rate exist without R12.3
    pid = _product_id(ctx, w.shop_id)
    assert rate(ctx, pid) is None
    for rating in range(1, 6):
        reviewed(w, rating=rating)
    positive = sum(1 for r in range(1, 6) if r >= POSITIVE_MIN_RATING)
    assert rate(ctx, pid) == pytest.approx(positive / 5)
    with ctx.db.read() as conn:
        assert svc.positive_review_rate(conn, pid, clock.now - timedelta(seconds=1)) is None
    assert rate(ctx, _product_id(ctx, w.shop_id, "CUSTOM_MADE")) is None


# --------------------------------------------------------------------------- decide_by
def _add_weekdays(start: date, n: int) -> date:
    """By hand, for the `weekdays` calendar: Monday to Friday."""
    day = start
    while n:
        day += timedelta(days=1)
        if day.weekday() < 5:
            n -= 1
    return day


def test_R12_3_decide_by_counts_working_days(ctx: Context, clock: FakeClock, numbers: str) -> None:
    profile = ctx.profiles.current["tiktok"]
    assert profile.calendar == "weekdays"
    tz = ZoneInfo(profile.timezone)
    nr = rules(ctx)
    # File on a Friday: every range of at least one working day spans the weekend.
    friday = date(2026, 11, 20)
    assert friday.weekday() == 4
    clock.now = _local(friday, time(10), tz)
    appeal = file(reviewed(tiktok_world(ctx)))
    last = _add_weekdays(friday, nr.decision_workdays_max)
    first = _add_weekdays(friday, nr.decision_workdays_min)
    assert (last - friday).days > nr.decision_workdays_max  # the weekend does not count
    assert appeal.decide_by == _local(last + timedelta(days=1), time(0), tz)
    assert appeal.expected_from == _local(first, time(0), tz)
    assert appeal.decide_by.astimezone(tz).time() == time(0)  # the end of that local day


def test_R12_3_decide_by_on_the_statutory_calendar_skips_holidays(
    ctx: Context, clock: FakeClock
) -> None:
    """A profile on the Chinese statutory calendar: 1 October 2026 (a holiday week)."""
    profile = ctx.profiles.current["tiktok"]
    ctx.profiles.current["tiktok"] = with_review_rules(profile).model_copy(
        update={"calendar": "cn_statutory"}
    )
    tz = ZoneInfo(profile.timezone)
    clock.now = _local(date(2026, 9, 30), time(10), tz)
    appeal = file(reviewed(tiktok_world(ctx)))
    last = add_workdays(date(2026, 9, 30), rules(ctx).decision_workdays_max, "cn_statutory")
    assert last > _add_weekdays(date(2026, 9, 30), rules(ctx).decision_workdays_max)
    assert appeal.decide_by == _local(last + timedelta(days=1), time(0), tz)


# --------------------------------------------------------------------------- the queue
def test_R12_3_pending_review_appeals_soonest_decide_by_first(
    ctx: Context, clock: FakeClock
) -> None:
    w = tiktok_world(ctx)
    slow = file(reviewed(w))
    clock.advance(days=1)
    # A later filing under a profile that decides faster is due sooner.
    ctx.profiles.current["tiktok"] = with_review_rules(
        ctx.profiles.current["tiktok"], decision_workdays_min=0, decision_workdays_max=1
    )
    fast = file(reviewed(w))
    done = file(reviewed(w))
    svc.decide_appeal(ctx, AGENT, done.id, uphold=False, note="No.")
    assert fast.decide_by < slow.decide_by
    with ctx.db.read() as conn:
        queue = svc.pending_review_appeals(conn)
    assert [(q.id, q.shop_id, q.decide_by, q.filed_at) for q in queue] == [
        (fast.id, w.shop_id, fast.decide_by, fast.filed_at),
        (slow.id, w.shop_id, slow.decide_by, slow.filed_at),
    ]


# --------------------------------------------------------------------------- douyin
def test_R12_3_douyin_does_not_offer_review_appeals(ctx: Context) -> None:
    assert ctx.profiles.current["douyin"].appeals is not None
    assert ctx.profiles.current["douyin"].appeals.negative_review is None
    w = make_world(ctx)
    r = reviewed(w, rating=1, topic=Topic.LOGISTICS)
    assert r.review.negative is None  # douyin defines no negative reviews
    with pytest.raises(IllegalTransition) as err:
        svc.file_appeal(
            ctx,
            w.merchant,
            r.review.id,
            reason="Wrong parcel.",
            evidence=r.evidence(["order", "logistics", "chat"]),
        )
    assert (err.value.code, err.value.rule) == ("review_appeal.not_offered", "R12.3")


# --------------------------------------------------------------------------- who
def test_R12_3_only_the_shops_after_sales_accounts_appeal_and_only_agents_decide(
    ctx: Context,
) -> None:
    w = tiktok_world(ctx)
    r = reviewed(w)
    with pytest.raises(NotFound):
        file(r, actor=Actor.merchant(w.other_shop_id))
    with pytest.raises(NotFound):
        file(r, actor=Actor.buyer(w.other_buyer_id))
    for seer in (w.buyer, AGENT):
        with pytest.raises(Forbidden) as err:
            file(r, actor=seer)
        assert err.value.code == "review_appeal.shop_only"
    clerk = Actor(
        ActorKind.MERCHANT,
        "clerk",
        shop_id=w.shop_id,
        account_kind=AccountKind.MERCHANT,
        main=False,
        permissions=frozenset({Permission.VIEW_ANALYTICS}),
    )
    with pytest.raises(Forbidden) as err:
        file(r, actor=clerk)
    assert err.value.code == "auth.permission_missing"
    handler = Actor(
        ActorKind.MERCHANT,
        "handler",
        shop_id=w.shop_id,
        account_kind=AccountKind.MERCHANT,
        main=False,
        permissions=frozenset({Permission.HANDLE_AFTERSALES}),
    )
    appeal = file(r, actor=handler)
    assert appeal.filed_by == "handler"
    with pytest.raises(Forbidden):
        svc.decide_appeal(ctx, w.merchant, appeal.id, uphold=True, note="Mine.")
    with pytest.raises(NotFound):
        svc.decide_appeal(ctx, Actor.merchant(w.other_shop_id), appeal.id, uphold=True, note="x")
    assert svc.list_appeals(ctx, Actor.merchant(w.other_shop_id)) == []
    assert [a.id for a in svc.list_appeals(ctx, w.merchant)] == [appeal.id]


# --------------------------------------------------------------------------- reviews
def test_buyer_writes_one_review_per_line_of_a_signed_order(ctx: Context) -> None:
    w = tiktok_world(ctx)
    number = w.order()
    line = w.line_id(number)
    mine = svc.record_review(
        ctx, w.buyer, order_number=number, order_line_id=line, rating=4, topic=Topic.PRICE
    )
    assert (mine.source, mine.rating, mine.negative) == (ReviewSource.BUYER, 4, False)
    with pytest.raises(Conflict):
        svc.record_review(
            ctx, ORDER_SYSTEM, order_number=number, order_line_id=line, rating=1, topic=Topic.OTHER
        )
    with pytest.raises(NotFound):
        svc.record_review(
            ctx,
            Actor.buyer(w.other_buyer_id),
            order_number=w.order(),
            order_line_id=line,
            rating=1,
            topic=Topic.OTHER,
        )
    unsigned = w.order(signed_ago=None)
    with pytest.raises(IllegalTransition) as err:
        svc.record_review(
            ctx,
            w.buyer,
            order_number=unsigned,
            order_line_id=w.line_id(unsigned),
            rating=5,
            topic=Topic.OTHER,
        )
    assert err.value.code == "review.not_signed"
    signed = w.order()
    for kw in ({"created_at": ctx.now()}, {"rating": 0}, {"rating": 6}):
        args = {"rating": 3, **kw}
        with pytest.raises(ValidationFailed):
            svc.record_review(
                ctx,
                w.buyer,
                order_number=signed,
                order_line_id=w.line_id(signed),
                topic=Topic.OTHER,
                **args,  # type: ignore[arg-type]
            )
    with pytest.raises(ValidationFailed) as err2:
        svc.record_review(
            ctx,
            ORDER_SYSTEM,
            order_number=signed,
            order_line_id=line,  # a line of another order
            rating=3,
            topic=Topic.OTHER,
        )
    assert err2.value.params["field"] == "order_line_id"
    with pytest.raises(Forbidden):
        svc.record_review(
            ctx,
            w.merchant,
            order_number=signed,
            order_line_id=w.line_id(signed),
            rating=5,
            topic=Topic.OTHER,
        )
    with pytest.raises(ValidationFailed) as err3:
        svc.record_review(
            ctx,
            ORDER_SYSTEM,
            order_number=signed,
            order_line_id=w.line_id(signed),
            rating=5,
            topic=Topic.OTHER,
            created_at=ctx.now() + timedelta(minutes=1),
        )
    assert err3.value.code == "review.date_invalid"


@pytest.mark.parametrize("table", ["product_reviews", "review_appeals", "review_appeal_decisions"])
def test_R12_3_reviews_appeals_and_decisions_are_append_only(ctx: Context, table: str) -> None:
    w = tiktok_world(ctx)
    appeal = file(reviewed(w))
    svc.decide_appeal(ctx, AGENT, appeal.id, uphold=True, note="Removed.")
    for statement in (f"UPDATE {table} SET id = id", f"DELETE FROM {table}"):
        with pytest.raises(DBAPIError), ctx.db.write() as conn:
            conn.execute(text(statement))
    with ctx.db.read() as conn:
        assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 1
