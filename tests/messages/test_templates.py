"""R5.7: reply templates (话术库) per shop: created by the shop's accounts that handle
after-sales, checked like a message, archived but never deleted; a message sent from one
records it."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from aftersales.domain.accounts import Permission, Scope
from aftersales.domain.errors import Forbidden, NotFound, ValidationFailed
from aftersales.services import messages as msg
from aftersales.services.actors import Actor
from aftersales.store.schema import reply_templates
from tests.factories import make_world
from tests.messages.support import agent, merchant, shop_code

GREETING = "亲，您好！已收到您的售后申请，我们会尽快为您处理。"


def test_R5_7_a_shop_creates_lists_and_archives_reply_templates_never_deleting(ctx, clock):
    w = make_world(ctx)
    code = shop_code(ctx, w.shop_id)
    hello = msg.create_template(ctx, w.merchant, code, title="开场白", body=GREETING)
    sorry = msg.create_template(
        ctx, w.merchant, code, title="致歉", body="给您添麻烦了，非常抱歉。"
    )
    assert [t.title for t in msg.list_templates(ctx, w.merchant, code)] == ["开场白", "致歉"]

    clock.advance(hours=1)
    archived = msg.archive_template(ctx, w.merchant, code, sorry.id)
    assert archived.archived_at == clock.now
    clock.advance(hours=1)
    again = msg.archive_template(ctx, w.merchant, code, sorry.id)
    assert again.archived_at == archived.archived_at  # archiving twice changes nothing

    assert [t.id for t in msg.list_templates(ctx, w.merchant, code)] == [hello.id]
    every = msg.list_templates(ctx, w.merchant, code, include_archived=True)
    assert [t.id for t in every] == [hello.id, sorry.id]
    with ctx.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(reply_templates)).scalar() == 2


def test_R5_7_a_template_with_a_phone_number_or_abuse_is_refused(ctx):
    w = make_world(ctx)
    code = shop_code(ctx, w.shop_id)
    for body in ("售后请直接联系 13812345678", "别当白痴，看说明书"):
        with pytest.raises(ValidationFailed) as err:
            msg.create_template(ctx, w.merchant, code, title="t", body=body)
        assert err.value.rule == "R5.7" and err.value.params["field"] == "body"
    assert msg.list_templates(ctx, w.merchant, code) == []


def test_R5_7_a_message_sent_from_a_template_records_it(ctx):
    w = make_world(ctx)
    number = w.open()
    code = shop_code(ctx, w.shop_id)
    tpl = msg.create_template(ctx, w.merchant, code, title="开场白", body=GREETING)

    sent = msg.post_message(ctx, w.merchant, number, template_id=tpl.id)
    assert (sent.status, sent.body, sent.template_id) == ("published", GREETING, tpl.id)
    tweaked = msg.post_message(ctx, w.merchant, number, "王女士，" + GREETING, template_id=tpl.id)
    assert tweaked.body.startswith("王女士") and tweaked.template_id == tpl.id
    assert [m.template_id for m in msg.list_messages(ctx, w.buyer, number)] == [tpl.id, tpl.id]

    # only the shop of the case, with a live template
    other = msg.create_template(
        ctx,
        Actor.merchant(w.other_shop_id),
        shop_code(ctx, w.other_shop_id),
        title="x",
        body="您好",
    )
    with pytest.raises(NotFound):
        msg.post_message(ctx, w.merchant, number, template_id=other.id)
    with pytest.raises(NotFound):
        msg.post_message(ctx, w.buyer, number, template_id=tpl.id)
    msg.archive_template(ctx, w.merchant, code, tpl.id)
    with pytest.raises(ValidationFailed, match="archived"):
        msg.post_message(ctx, w.merchant, number, template_id=tpl.id)


def test_R5_7_templates_belong_to_the_shops_after_sales_accounts(ctx):
    w = make_world(ctx)
    code = shop_code(ctx, w.shop_id)
    handler = merchant(ctx, w.shop_id, permissions=(Permission.HANDLE_AFTERSALES.value,))
    analyst = merchant(ctx, w.shop_id, permissions=(Permission.VIEW_ANALYTICS.value,))
    platform = agent(ctx)

    tpl = msg.create_template(ctx, handler, code, title="开场白", body=GREETING)
    assert [t.id for t in msg.list_templates(ctx, platform, code)] == [tpl.id]
    with pytest.raises(Forbidden, match="handle_aftersales"):
        msg.create_template(ctx, analyst, code, title="x", body="您好")
    with pytest.raises(Forbidden, match="handle_aftersales"):
        msg.list_templates(ctx, analyst, code)
    with pytest.raises(Forbidden):
        msg.create_template(ctx, platform, code, title="x", body="您好")
    for outsider in (Actor.merchant(w.other_shop_id), w.buyer):
        with pytest.raises(NotFound):
            msg.list_templates(ctx, outsider, code)
        with pytest.raises(NotFound):
            msg.archive_template(ctx, outsider, code, tpl.id)
    with pytest.raises(NotFound):  # another shop's template through this shop's code
        msg.archive_template(
            ctx, Actor.merchant(w.other_shop_id), shop_code(ctx, w.other_shop_id), tpl.id
        )
    # an API token manages templates with the shop:admin scope
    from dataclasses import replace

    token = replace(handler, scopes=frozenset({Scope.CASES_READ, Scope.MESSAGES_WRITE}))
    assert len(msg.list_templates(ctx, token, code)) == 1
    with pytest.raises(Forbidden, match="shop:admin"):
        msg.archive_template(ctx, token, code, tpl.id)
