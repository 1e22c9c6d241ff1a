"""R5.7: what a shop may not write (abuse, threats, advertising, phone numbers, third-party
links), checked by the pure function ``aftersales.domain.moderation.check`` against the
vocabulary of the policy profile."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aftersales.domain.case_types import ActorKind
from aftersales.domain.moderation import Flag, FlagKind, check, holds, host_allowed
from aftersales.domain.policy import Messages, Profile

PROPERTY = settings(max_examples=150, deadline=None, derandomize=True, database=None)


@pytest.fixture(scope="module")
def rules(douyin: Profile) -> Messages:
    assert douyin.messages is not None
    return douyin.messages


def kinds(text: str, rules: Messages) -> set[FlagKind]:
    return {f.kind for f in check(text, rules)}


def only(text: str, rules: Messages) -> Flag:
    flags = check(text, rules)
    assert len(flags) == 1, flags
    return flags[0]


# --------------------------------------------------------------------------- phone numbers
@pytest.mark.parametrize(
    "text, number",
    [
        ("有问题请打 13812345678 找我", "13812345678"),
        ("电话 138-1234-5678", "138-1234-5678"),
        ("call 138 1234 5678 anytime", "138 1234 5678"),
        ("手机：+86 138 1234 5678", "+86 138 1234 5678"),
        ("拨 0086-13812345678", "0086-13812345678"),
        ("号码 1 3 8 1 2 3 4 5 6 7 8 谢谢", "1 3 8 1 2 3 4 5 6 7 8"),
        ("号码 1-3-8-1-2-3-4-5-6-7-8", "1-3-8-1-2-3-4-5-6-7-8"),
        ("全角 １３８１２３４５６７８", "１３８１２３４５６７８"),
        ("打我电话一三八一二三四五六七八", "一三八一二三四五六七八"),
        ("幺三八 幺二三四 五六七八", "幺三八 幺二三四 五六七八"),
        ("座机 0571-88887777", "0571-88887777"),
        ("北京 (010) 62345678", "(010) 62345678"),
        ("客服热线 400-123-4567", "400-123-4567"),
        ("US line +1 (415) 555-2671", "+1 (415) 555-2671"),
        ("or 415-555-2671", "415-555-2671"),
    ],
)
def test_R5_7_phone_numbers_are_flagged_with_their_span(
    rules: Messages, text: str, number: str
) -> None:
    flag = only(text, rules)
    assert flag.kind is FlagKind.PHONE_NUMBER
    assert flag.text == number
    assert text[flag.start : flag.end] == number
    assert flag.match  # the pattern that matched, for the explanation


@pytest.mark.parametrize(
    "text",
    [
        "订单号 6912345678901234567 已退款",  # a 19-digit order number
        "快递单号 SF1381234567890",  # a tracking number
        "售后单 AS20261125000001",
        "退款 ¥138.00 已原路退回",
        "预计 2026-11-25 13:45 送达",
        "我们会在48小时内处理",
        "尺码 38 偏小，建议选 39",
    ],
)
def test_R5_7_order_tracking_and_case_numbers_are_not_phone_numbers(
    rules: Messages, text: str
) -> None:
    assert check(text, rules) == []


# --------------------------------------------------------------------------- links
@pytest.mark.parametrize(
    "text, link",
    [
        ("去 https://item.taobao.com/item.htm?id=1 下单", "https://item.taobao.com/item.htm?id=1"),
        ("访问 www.example.net 看看", "www.example.net"),
        ("上 taobao.com 搜店名", "taobao.com"),
        ("全角 ＴＡＯＢＡＯ．ＣＯＭ", "ＴＡＯＢＡＯ．ＣＯＭ"),
        ("写成 taobao点com 也不行", "taobao点com"),
        ("or pdd dot com", "pdd dot com"),
        ("email me at lily.shop@gmail.com", "lily.shop@gmail.com"),
        ("wx: lily_shop", "wx: lily_shop"),
        ("加我 微信 lily2024 联系", "微信 lily2024"),
        ("WeChat ID: shop_888", "WeChat ID: shop_888"),
        ("QQ 123456789", "QQ 123456789"),
        ("扣扣号是 987654321", "扣扣号是 987654321"),
        ("telegram: @cheapshop", "telegram: @cheapshop"),
    ],
)
def test_R5_7_third_party_links_and_contact_ids_are_flagged(
    rules: Messages, text: str, link: str
) -> None:
    flags = [f for f in check(text, rules) if f.kind is FlagKind.THIRD_PARTY_LINK]
    assert [f.text for f in flags] == [link]
    assert text[flags[0].start : flags[0].end] == link


@pytest.mark.parametrize(
    "text",
    [
        "店铺主页 https://v.douyin.com/iRNBbq5/ 可以看到",
        "商家后台 fxg.jinritemai.com 已处理",
        "see www.douyin.com",
        "微信支付的款项会原路退回",  # WeChat Pay is a payment method, not a contact
        "you can pay with wechat pay",
        "product line: premium",
        "the file is photo.jpg",
    ],
)
def test_R5_7_the_marketplaces_own_links_and_plain_words_are_not_flagged(
    rules: Messages, text: str
) -> None:
    assert check(text, rules) == []


def test_R5_7_allowed_hosts_come_from_the_profile(douyin: Profile, tiktok: Profile) -> None:
    assert douyin.messages is not None and tiktok.messages is not None
    text = "see https://shop.tiktok.com/view/123"
    assert kinds(text, tiktok.messages) == set()
    assert kinds(text, douyin.messages) == {FlagKind.THIRD_PARTY_LINK}
    assert host_allowed("v.douyin.com", douyin.messages.allowed_link_hosts)
    assert not host_allowed("notdouyin.com", douyin.messages.allowed_link_hosts)


# --------------------------------------------------------------------------- words
@pytest.mark.parametrize(
    "text, kind, matched",
    [
        ("你是不是傻逼", FlagKind.ABUSE, "傻逼"),
        ("你这个傻*逼", FlagKind.ABUSE, "傻*逼"),
        ("真是个神经病", FlagKind.ABUSE, "神经病"),
        ("You are an IDIOT", FlagKind.ABUSE, "IDIOT"),
        ("f.u.c.k off", FlagKind.ABUSE, "f.u.c.k"),
        ("just shut   up", FlagKind.ABUSE, "shut   up"),
        ("你给我等着", FlagKind.THREAT, "你给我等着"),
        ("再差评就找人收拾你", FlagKind.THREAT, "找人收拾你"),
        ("I know where you live", FlagKind.THREAT, "I know where you live"),
        ("you’ll regret this", FlagKind.THREAT, "you’ll regret"),
        ("给个好评返现5元", FlagKind.ADVERTISING, "好评返现"),
        ("进群领福利", FlagKind.ADVERTISING, "进群"),
        ("use promo code SAVE10", FlagKind.ADVERTISING, "promo code"),
    ],
)
def test_R5_7_abuse_threats_and_advertising_are_flagged(
    rules: Messages, text: str, kind: FlagKind, matched: str
) -> None:
    flags = [f for f in check(text, rules) if f.kind is kind]
    assert [f.text for f in flags] == [matched]


@pytest.mark.parametrize(
    "text",
    [
        "亲，给您带来不便非常抱歉，已为您办理退款。",
        "你等着收货就行，我们今天发出",  # 你等着 alone is not a threat
        "这是我妈妈的衣服",  # 妈的 inside 妈妈的
        "滚筒洗衣机的配件已补发",  # 滚 inside 滚筒
        "去死皮膏属于化妆品",  # 去死 inside 去死皮膏
        "The dumbbell set ships tomorrow",  # dumb inside dumbbell
        "Shiitake mushrooms are perishable",
        "Sorry for the trouble, a full refund has been issued.",
    ],
)
def test_R5_7_ordinary_service_language_is_not_flagged(rules: Messages, text: str) -> None:
    assert check(text, rules) == []


def test_R5_7_one_message_can_carry_several_flags_in_reading_order(rules: Messages) -> None:
    text = "傻逼，加我微信 lily_shop88 或打 13812345678"
    flags = check(text, rules)
    assert [f.kind for f in flags] == [
        FlagKind.ABUSE,
        FlagKind.ADVERTISING,
        FlagKind.THIRD_PARTY_LINK,
        FlagKind.PHONE_NUMBER,
    ]
    assert [f.start for f in flags] == sorted(f.start for f in flags)


def test_R5_7_a_span_inside_a_larger_one_of_its_kind_is_reported_once(rules: Messages) -> None:
    # the URL's domain and the +86 number's international reading are the same finding
    assert len(check("https://taobao.com/x", rules)) == 1
    assert len(check("+86 13812345678", rules)) == 1


def test_R5_7_flags_round_trip_through_json(rules: Messages) -> None:
    for flag in check("打 13812345678，上 taobao.com", rules):
        assert Flag.from_json(flag.to_json()) == flag


def test_R5_7_only_a_shops_flagged_message_is_held(rules: Messages) -> None:
    flags = check("13812345678", rules)
    assert holds(ActorKind.MERCHANT, flags)
    assert not holds(ActorKind.MERCHANT, [])
    assert not holds(ActorKind.BUYER, flags)
    assert not holds(ActorKind.PLATFORM, flags)


def test_R5_7_the_vocabulary_is_the_profiles(rules: Messages) -> None:
    custom = rules.model_copy(update={"abuse": ("蠢货",)})
    assert kinds("你这个蠢货", custom) == {FlagKind.ABUSE}
    assert kinds("你这个蠢货", rules) == set()


def test_R5_7_a_pattern_that_does_not_compile_is_refused_at_load(douyin: Profile) -> None:
    from pydantic import ValidationError

    raw = douyin.model_dump(mode="json")
    raw["messages"]["phone_patterns"].append({"name": "broken", "pattern": "(["})
    with pytest.raises(ValidationError, match="broken"):
        Profile.model_validate(raw)
    raw["messages"]["phone_patterns"][-1] = {"name": "empty", "pattern": "x*"}
    with pytest.raises(ValidationError, match="empty string"):
        Profile.model_validate(raw)


def test_R5_7_every_shipped_profile_has_the_messages_table(
    profiles: dict[str, Profile],
) -> None:
    for profile in profiles.values():
        assert profile.messages is not None, profile.id
        assert profile.messages.abuse and profile.messages.phone_patterns


# --------------------------------------------------------------------------- properties
SEPARATORS = st.sampled_from(["", "", " ", "-", ".", "  "])
CJK = "一二三四五六七八九零"


@st.composite
def mobile_numbers(draw: st.DrawFn) -> str:
    digits = (
        "1"
        + draw(st.sampled_from("3456789"))
        + "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=9, max_size=9)))
    )
    if draw(st.booleans()):
        digits = "".join(CJK[int(d) - 1] if d != "0" else "零" for d in digits)
    out = digits[0]
    for d in digits[1:]:
        out += draw(SEPARATORS) + d
    return out


@PROPERTY
@given(
    number=mobile_numbers(),
    before=st.sampled_from(["", "电话", "call me on ", "亲，打 "]),
    after=st.sampled_from(["", " 谢谢", "，在线", " thanks"]),
)
def test_R5_7_property_a_mobile_number_with_any_separators_is_flagged(
    rules: Messages, number: str, before: str, after: str
) -> None:
    text = before + number + after
    phones = [f for f in check(text, rules) if f.kind is FlagKind.PHONE_NUMBER]
    assert [f.text for f in phones] == [number]


@PROPERTY
@given(text=st.text(max_size=300))
def test_R5_7_property_every_flag_points_at_its_text(rules: Messages, text: str) -> None:
    for flag in check(text, rules):
        assert 0 <= flag.start < flag.end <= len(text)
        assert text[flag.start : flag.end] == flag.text


@PROPERTY
@given(
    text=st.text(
        alphabet=st.characters(
            whitelist_categories=("Lo",), min_codepoint=0x4E00, max_codepoint=0x4FFF
        ),
        max_size=200,
    )
)
def test_R5_7_property_plain_chinese_without_digits_has_no_phone_or_link(
    rules: Messages, text: str
) -> None:
    assert not kinds(text, rules) & {FlagKind.PHONE_NUMBER, FlagKind.THIRD_PARTY_LINK}
