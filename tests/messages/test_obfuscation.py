"""R5.7 (issue 11 §7): the 13 obfuscated shop messages that were published and sent out by
webhook are held, through the service and the API; a template hiding a number is refused
saying how it was read."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from aftersales.api.app import create_app
from aftersales.domain.accounts import AccountKind
from aftersales.domain.errors import ValidationFailed
from aftersales.domain.moderation import FlagKind
from aftersales.services import messages as msg
from tests.factories import make_world
from tests.messages.support import account, posted_events, shop_code, token

PUBLISHED_BEFORE = [  # (message, the kind it must raise, how the flagged part reads)
    ("有问题打我 138\u200b1234\u200b5678", FlagKind.PHONE_NUMBER, "13812345678"),
    ("电话 139\u200d8765\u200d4321", FlagKind.PHONE_NUMBER, "13987654321"),
    ("手机 13\u00ad912\u00ad345\u00ad678", FlagKind.PHONE_NUMBER, "13912345678"),
    ("联系 186\u20601234\u20605678", FlagKind.PHONE_NUMBER, "18612345678"),
    ("电话 ١٣٨١٢٣٤٥٦٧٨", FlagKind.PHONE_NUMBER, "13812345678"),
    ("手机 १३८१२३४५६७८", FlagKind.PHONE_NUMBER, "13812345678"),
    ("电话１３８，１２３４，５６７８", FlagKind.PHONE_NUMBER, "138,1234,5678"),
    ("有事打 \u202e87654321831\u202c", FlagKind.PHONE_NUMBER, "13812345678"),
    ("去 taobao\u200b.com 搜我们店", FlagKind.THIRD_PARTY_LINK, "taobao.com"),
    ("上 t\u0430ob\u0430\u043e.com 搜店名", FlagKind.THIRD_PARTY_LINK, "taobao.com"),
    ("你是不是傻   逼", FlagKind.ABUSE, "傻   逼"),
    ("IDlOT", FlagKind.ABUSE, "idlot"),
    ("I know where u live", FlagKind.THREAT, "i know where u live"),
]


def test_hardening_R5_7_obfuscated_shop_messages_are_held_and_not_sent_out(ctx):
    w = make_world(ctx)
    number = w.open()
    for body, kind, read_as in PUBLISHED_BEFORE:
        posted = msg.post_message(ctx, w.merchant, number, body)
        assert posted.status == "held", body
        assert posted.flags is not None
        [flag] = [f for f in posted.flags if f.kind is kind]
        assert (body[flag.start : flag.end], flag.read_as) == (flag.text, read_as)
    assert msg.list_messages(ctx, w.buyer, number) == []
    assert posted_events(ctx) == []  # no message.posted webhook event


def test_hardening_R5_7_a_template_hiding_a_phone_number_is_refused_saying_how_it_reads(ctx):
    w = make_world(ctx)
    body = "售后请联系 138\u200b1234\u200b5678"
    with pytest.raises(ValidationFailed) as err:
        msg.create_template(ctx, w.merchant, shop_code(ctx, w.shop_id), title="t", body=body)
    assert err.value.rule == "R5.7" and err.value.params["field"] == "body"
    assert "→ “13812345678”" in err.value.params["flags"]


@pytest.mark.parametrize(
    "lang, words", [("en", "a phone number"), ("zh-CN", "电话号码")], ids=["en", "zh_CN"]
)
def test_hardening_R5_7_api_explains_a_hidden_number_in_the_callers_language(
    ctx, lang: str, words: str
):
    w = make_world(ctx)
    number = w.open()
    main, _ = account(ctx, AccountKind.MERCHANT, shop_id=w.shop_id, main=True)
    headers = {
        "Authorization": f"Bearer {token(ctx, main, ('cases:read', 'messages:write'))}",
        "Accept-Language": lang,
    }
    body = "有事打 \u202e87654321831\u202c"
    app = create_app(ctx, embedded_worker=False, embedded_dispatcher=False)
    with TestClient(app) as client:
        r = client.post(f"/api/v1/cases/{number}/messages", json={"body": body}, headers=headers)
    assert r.status_code == 201, r.text
    held = r.json()
    assert (held["status"], held["rule"]) == ("held", "R5.7")
    [flag] = held["flags"]
    assert (flag["kind"], flag["text"], flag["read_as"]) == (
        "phone_number",
        "87654321831",
        "13812345678",
    )
    assert body[flag["start"] : flag["end"]] == flag["text"]
    assert words in held["notice"] and words == flag["kind_label"]
