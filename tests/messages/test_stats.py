"""R5.7: the shop's first-response time (from a case's opening to its first published shop
message) and buyer messages unanswered past the reply window, with every number read from
the case's profile version."""

from __future__ import annotations

from datetime import timedelta

import pytest

from aftersales.domain.accounts import Permission
from aftersales.domain.errors import Forbidden, NotFound, ValidationFailed
from aftersales.profiles import load_profiles
from aftersales.services import messages as msg
from aftersales.services.actors import Actor
from aftersales.services.context import Context, ProfileStore
from tests.factories import make_world
from tests.messages.support import agent, merchant, shop_code
from tests.services.support import handling


def test_R5_7_first_response_time_runs_from_the_opening_to_the_first_published_shop_message(
    ctx, clock
):
    target = handling(ctx).first_contact_target_minutes
    w = make_world(ctx)
    start = clock.now
    fast = w.open()
    slow = w.open()
    silent = w.open()

    clock.advance(minutes=target - 1)
    msg.post_message(ctx, w.merchant, fast, "您好，已收到。")
    msg.post_message(ctx, w.merchant, slow, "请加微信 lily_shop88")  # held: not a response
    msg.post_message(ctx, agent(ctx), silent, "平台提醒")  # the platform is not the shop
    clock.advance(minutes=target * 2)
    msg.post_message(ctx, w.merchant, slow, "您好，已收到。")
    msg.post_message(ctx, w.buyer, fast, "好的")

    s = msg.message_stats(ctx, w.merchant, shop_code(ctx, w.shop_id), start=start)
    by_case = {c.case_number: c for c in s.responses}
    assert by_case[fast].seconds == (target - 1) * 60 and by_case[fast].within_target
    assert by_case[slow].seconds == (target - 1 + target * 2) * 60
    assert by_case[slow].within_target is False
    assert by_case[silent].seconds is None and by_case[silent].within_target is None
    assert (s.cases, s.responded, s.within_target) == (3, 2, 1)
    # nearest rank: of two values the median is the lower, the 90th the higher
    assert s.median_seconds == by_case[fast].seconds
    assert s.p90_seconds == by_case[slow].seconds


def test_R5_7_unanswered_past_72_hours_is_counted(ctx, clock):
    hours = handling(ctx).message_reply_hours
    w = make_world(ctx)
    start = clock.now
    waiting = w.open()
    answered = w.open()
    code = shop_code(ctx, w.shop_id)

    msg.post_message(ctx, w.buyer, waiting, "什么时候发货？")
    msg.post_message(ctx, w.buyer, waiting, "还在吗？")
    msg.post_message(ctx, w.buyer, answered, "地址是哪里？")
    clock.advance(hours=hours - 1)
    msg.post_message(ctx, w.merchant, answered, "退货地址见售后单。")
    msg.post_message(ctx, agent(ctx), waiting, "平台已催促商家")  # not the shop's answer

    s = msg.message_stats(ctx, w.merchant, code, start=start)
    assert (s.buyer_messages, s.answered_in_time, s.awaiting_reply, s.unanswered_overdue) == (
        3,
        1,
        2,
        0,
    )
    assert s.unanswered_cases == []

    clock.advance(hours=2)  # now past the window for the first two messages
    s = msg.message_stats(ctx, w.merchant, code, start=start)
    assert (s.awaiting_reply, s.unanswered_overdue) == (0, 2)
    [case] = s.unanswered_cases
    assert (case.case_number, case.messages) == (waiting, 2)
    assert case.due_at == case.oldest_at + timedelta(hours=hours)

    msg.post_message(ctx, w.merchant, waiting, "抱歉久等，今天发出。")
    s = msg.message_stats(ctx, w.merchant, code, start=start)
    assert (s.answered_in_time, s.answered_late, s.unanswered_overdue) == (1, 2, 0)
    assert s.unanswered_cases == []


def test_R5_7_the_reply_window_is_the_one_of_the_cases_profile_version(ctx, clock):
    v_now = ctx.profiles.current["douyin"]
    old_hours = v_now.handling.message_reply_hours
    new_hours = old_hours // 3
    v_next = v_now.model_copy(
        update={
            "version": v_now.version + 1,
            "handling": v_now.handling.model_copy(update={"message_reply_hours": new_hours}),
        }
    )
    w = make_world(ctx)
    old_case = w.open()
    # a restarted process with the next version: new cases open under it
    later = Context(
        ctx.db, ProfileStore({**load_profiles(), "douyin": v_next}), ctx.settings, ctx.clock
    )
    w_later = make_world(later)
    new_case = w_later.open()
    start = clock.now
    msg.post_message(later, w.buyer, old_case, "在吗？")
    msg.post_message(later, w_later.buyer, new_case, "在吗？")

    clock.advance(hours=new_hours + 1)
    old_stats = msg.message_stats(later, w.merchant, shop_code(ctx, w.shop_id), start=start)
    new_stats = msg.message_stats(
        later, w_later.merchant, shop_code(ctx, w_later.shop_id), start=start
    )
    assert (old_stats.awaiting_reply, old_stats.unanswered_overdue) == (1, 0)
    assert (new_stats.awaiting_reply, new_stats.unanswered_overdue) == (0, 1)


def test_R5_7_message_stats_are_for_the_shop_its_analysts_and_the_platform(ctx):
    w = make_world(ctx)
    code = shop_code(ctx, w.shop_id)
    for allowed in (
        w.merchant,
        merchant(ctx, w.shop_id, main=True),
        merchant(ctx, w.shop_id, permissions=(Permission.VIEW_ANALYTICS.value,)),
        merchant(ctx, w.shop_id, permissions=(Permission.HANDLE_AFTERSALES.value,)),
        agent(ctx),
    ):
        assert msg.message_stats(ctx, allowed, code).shop_code == code
    with pytest.raises(Forbidden):
        msg.message_stats(ctx, merchant(ctx, w.shop_id), code)  # a sub-account with no grant
    for outsider in (w.buyer, Actor.merchant(w.other_shop_id), Actor.carrier("sf-api")):
        with pytest.raises(NotFound):
            msg.message_stats(ctx, outsider, code)
    with pytest.raises(NotFound):
        msg.message_stats(ctx, w.merchant, "NO-SUCH-SHOP")


def test_R5_7_the_stats_period_starts_before_it_ends_and_is_bounded(ctx, clock):
    w = make_world(ctx)
    code = shop_code(ctx, w.shop_id)
    now = clock.now
    default = msg.message_stats(ctx, w.merchant, code)
    assert (default.start, default.end) == (now - timedelta(days=msg.STATS_DEFAULT_DAYS), now)
    for start, end in (
        (now, now),
        (now, now - timedelta(days=1)),
        (now - timedelta(days=msg.STATS_MAX_DAYS + 1), now),
    ):
        with pytest.raises(ValidationFailed):
            msg.message_stats(ctx, w.merchant, code, start=start, end=end)


def test_R5_7_nearest_rank_percentiles():
    assert msg.nearest_rank([], 50) is None
    assert msg.nearest_rank([7], 90) == 7
    assert msg.nearest_rank([4, 1, 3, 2], 50) == 2
    assert msg.nearest_rank(list(range(1, 11)), 90) == 9
    assert msg.nearest_rank(list(range(1, 11)), 100) == 10
