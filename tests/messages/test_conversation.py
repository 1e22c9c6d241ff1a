"""R5.7: buyer, shop and platform write on a case's conversation; a shop message with
abuse, threats, advertising, phone numbers or third-party links is held for the sender to
edit; messages follow case access (R1)."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest
from sqlalchemy import text as sql
from sqlalchemy.exc import DBAPIError

from aftersales.domain.accounts import Permission, Scope
from aftersales.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from aftersales.domain.moderation import FlagKind
from aftersales.services import messages as msg
from aftersales.services.actors import Actor
from tests.factories import make_world
from tests.messages.support import agent, merchant, posted_events

PHONE = "有问题直接打我电话 138-1234-5678"


def test_R5_7_buyer_shop_and_platform_write_on_the_conversation(ctx, clock):
    w = make_world(ctx)
    number = w.open()
    platform = agent(ctx)
    msg.post_message(ctx, w.buyer, number, "鞋子开胶了，能退吗？")
    clock.advance(minutes=2)
    msg.post_message(ctx, w.merchant, number, "亲，非常抱歉，已为您同意退货。")
    clock.advance(minutes=1)
    msg.post_message(ctx, platform, number, "平台已关注此售后单。")

    for reader in (w.buyer, w.merchant, platform):
        seen = msg.list_messages(ctx, reader, number)
        assert [(m.author_kind, m.status) for m in seen] == [
            ("buyer", "published"),
            ("merchant", "published"),
            ("platform", "published"),
        ]
        assert [m.created_at for m in seen] == sorted(m.created_at for m in seen)
    events = posted_events(ctx)
    assert [(e["case_number"], e["author_kind"]) for e in events] == [
        (number, "buyer"),
        (number, "merchant"),
        (number, "platform"),
    ]


def test_R5_7_shop_message_with_phone_number_is_held(ctx):
    w = make_world(ctx)
    number = w.open()
    platform = agent(ctx)

    held = msg.post_message(ctx, w.merchant, number, PHONE)

    assert held.status == "held"
    assert held.flags is not None
    [flag] = held.flags
    assert flag.kind is FlagKind.PHONE_NUMBER
    assert PHONE[flag.start : flag.end] == "138-1234-5678"
    # the sender and the platform see it; the buyer does not
    assert [m.id for m in msg.list_messages(ctx, w.merchant, number)] == [held.id]
    assert [m.id for m in msg.list_messages(ctx, platform, number)] == [held.id]
    assert msg.list_messages(ctx, w.buyer, number) == []
    assert posted_events(ctx) == []  # nothing announced while held


FLAGGED = [
    ("你是不是傻逼，看不懂说明吗", FlagKind.ABUSE),
    ("再给差评你给我等着", FlagKind.THREAT),
    ("好评返现5元，联系客服领取", FlagKind.ADVERTISING),
    ("去 taobao.com 搜我们店更便宜", FlagKind.THIRD_PARTY_LINK),
    ("加我 wx: lily_shop 私聊", FlagKind.THIRD_PARTY_LINK),
]


def test_R5_7_shop_message_with_abuse_threat_advertising_or_link_is_held(ctx):
    w = make_world(ctx)
    number = w.open()
    for body, kind in FLAGGED:
        held = msg.post_message(ctx, w.merchant, number, body)
        assert held.status == "held", body
        assert held.flags is not None and kind in {f.kind for f in held.flags}, body
    assert msg.list_messages(ctx, w.buyer, number) == []
    assert len(msg.list_messages(ctx, w.merchant, number)) == len(FLAGGED)


def test_R5_7_a_buyer_message_is_never_held_but_its_flags_are_recorded(ctx):
    w = make_world(ctx)
    number = w.open()
    platform = agent(ctx)
    posted = msg.post_message(ctx, w.buyer, number, "我的电话 13912345678，尽快联系")
    assert posted.status == "published"
    assert posted.flags is not None and posted.flags[0].kind is FlagKind.PHONE_NUMBER
    # the shop reads the message, not the flags; the platform reads both
    [for_shop] = msg.list_messages(ctx, w.merchant, number)
    assert for_shop.body == posted.body and for_shop.flags is None
    [for_platform] = msg.list_messages(ctx, platform, number)
    assert for_platform.flags == posted.flags
    assert len(posted_events(ctx)) == 1


def test_R5_7_platform_messages_are_never_checked(ctx):
    w = make_world(ctx)
    number = w.open()
    posted = msg.post_message(ctx, agent(ctx), number, "如需帮助请拨打平台热线 400-123-4567")
    assert posted.status == "published" and posted.flags == []


def test_R5_7_the_sender_edits_a_held_message_and_the_edit_publishes(ctx):
    w = make_world(ctx)
    number = w.open()
    held = msg.post_message(ctx, w.merchant, number, PHONE)

    edited = msg.edit_message(ctx, w.merchant, held.id, "有问题请在这里留言，我们会尽快回复。")

    assert edited.status == "published" and edited.revises_id == held.id
    mine = msg.list_messages(ctx, w.merchant, number)
    assert [(m.id, m.status, m.superseded_by) for m in mine] == [
        (held.id, "held", edited.id),
        (edited.id, "published", None),
    ]
    [for_buyer] = msg.list_messages(ctx, w.buyer, number)
    assert for_buyer.id == edited.id
    assert for_buyer.revises_id is None  # the buyer learns nothing of the held version
    [event] = posted_events(ctx)
    assert event["message_id"] == edited.id and event["revises_id"] == held.id


def test_R5_7_an_edit_still_flagged_is_held_again_and_edited_in_turn(ctx):
    w = make_world(ctx)
    number = w.open()
    first = msg.post_message(ctx, w.merchant, number, PHONE)
    second = msg.edit_message(ctx, w.merchant, first.id, "加我微信 lily_shop88 细聊")
    assert second.status == "held" and second.revises_id == first.id
    third = msg.edit_message(ctx, w.merchant, second.id, "我们在平台上继续沟通即可。")
    assert third.status == "published"
    assert [m.id for m in msg.list_messages(ctx, w.buyer, number)] == [third.id]


def test_R5_7_only_the_senders_own_held_message_not_yet_superseded_can_be_edited(ctx):
    w = make_world(ctx)
    number = w.open()
    writer = merchant(ctx, w.shop_id, permissions=(Permission.HANDLE_AFTERSALES.value,))
    colleague = merchant(ctx, w.shop_id, permissions=(Permission.HANDLE_AFTERSALES.value,))
    platform = agent(ctx)
    held = msg.post_message(ctx, writer, number, PHONE)
    published = msg.post_message(ctx, writer, number, "已同意退货，请按地址寄回。")

    for stranger in (w.buyer, colleague, Actor.merchant(w.other_shop_id)):
        with pytest.raises(NotFound):  # others' held messages do not exist for them
            msg.edit_message(ctx, stranger, held.id, "x")
    with pytest.raises(Forbidden):  # the platform sees it but did not write it
        msg.edit_message(ctx, platform, held.id, "x")
    with pytest.raises(Conflict, match="held"):
        msg.edit_message(ctx, writer, published.id, "changed my mind")
    msg.edit_message(ctx, writer, held.id, "请在平台内沟通。")
    with pytest.raises(Conflict, match="already edited"):
        msg.edit_message(ctx, writer, held.id, "another edit")
    with pytest.raises(NotFound):
        msg.edit_message(ctx, writer, 2**31 - 1, "x")


def test_R5_7_messages_follow_case_access(ctx):
    w = make_world(ctx)
    number = w.open()
    for outsider in (Actor.buyer(w.other_buyer_id), Actor.merchant(w.other_shop_id)):
        with pytest.raises(NotFound):
            msg.list_messages(ctx, outsider, number)
        with pytest.raises(NotFound):
            msg.post_message(ctx, outsider, number, "hello")
    with pytest.raises(NotFound):
        msg.list_messages(ctx, Actor.carrier("sf-api"), number)
    with pytest.raises(NotFound):
        msg.post_message(ctx, w.buyer, "AS20990101000001", "hello")
    # R1.2: a sub-account needs handle_aftersales
    analyst = merchant(ctx, w.shop_id, permissions=(Permission.VIEW_ANALYTICS.value,))
    with pytest.raises(Forbidden, match="handle_aftersales"):
        msg.post_message(ctx, analyst, number, "hello")
    # an API token needs the messages:write scope to post (and cases:read to see the case)
    reader = replace(w.buyer, scopes=frozenset({Scope.CASES_READ, Scope.CASES_WRITE}))
    assert msg.list_messages(ctx, reader, number) == []
    with pytest.raises(Forbidden, match="messages:write"):
        msg.post_message(ctx, reader, number, "hello")
    writer = replace(w.buyer, scopes=frozenset({Scope.MESSAGES_WRITE}))
    with pytest.raises(Forbidden, match="cases:read"):
        msg.post_message(ctx, writer, number, "hello")
    # deadlines and automation do not chat
    with pytest.raises(Forbidden):
        msg.post_message(ctx, Actor.system(), number, "hello")


def test_R5_7_a_message_needs_storable_text_of_bounded_length(ctx):
    w = make_world(ctx)
    number = w.open()
    for body, code in (
        ("   ", "text.empty"),
        ("x" * (msg.BODY_MAX_CHARS + 1), "text.too_long"),
        ("a\x00b", "text.invalid"),
        ("\ud800", "text.invalid"),
    ):
        with pytest.raises(ValidationFailed) as err:
            msg.post_message(ctx, w.buyer, number, body)
        assert err.value.code == code and err.value.params["field"] == "body"
    assert msg.list_messages(ctx, w.buyer, number) == []


def test_R5_7_messages_are_append_only(ctx):
    w = make_world(ctx)
    number = w.open()
    held = msg.post_message(ctx, w.merchant, number, PHONE)
    for statement in (
        "UPDATE case_messages SET status = 'published' WHERE id = :id",
        "DELETE FROM case_messages WHERE id = :id",
    ):
        with pytest.raises(DBAPIError, match="append-only"), ctx.db.write() as conn:
            conn.execute(sql(statement), {"id": held.id})
    [still] = msg.list_messages(ctx, w.merchant, number)
    assert still.status == "held"


def test_R5_7_two_simultaneous_edits_of_one_held_message_make_one_revision(ctx):
    w = make_world(ctx)
    number = w.open()
    held = msg.post_message(ctx, w.merchant, number, PHONE)
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def edit(i: int) -> None:
        barrier.wait()
        try:
            msg.edit_message(ctx, w.merchant, held.id, f"请在平台内沟通（{i}）")
            outcomes.append("edited")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=edit, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "conflict", "conflict", "edited"]
    assert [m.status for m in msg.list_messages(ctx, w.merchant, number)] == [
        "held",
        "published",
    ]
    assert len(posted_events(ctx)) == 1
