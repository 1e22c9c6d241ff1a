"""R5.7: what a shop may not write (abuse, threats, advertising, phone numbers, third-party
links), checked by the pure function ``aftersales.domain.moderation.check`` against the
vocabulary of the policy profile."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aftersales.domain import moderation_views as views
from aftersales.domain.case_types import ActorKind
from aftersales.domain.moderation import Flag, FlagKind, check, holds, host_allowed, summary
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


# --------------------------------------------------------------------------- issue 11 §7
# The 13 obfuscations that were published: each is read as a person sees it.
def flagged(text: str, rules: Messages, kind: FlagKind) -> Flag:
    found = [f for f in check(text, rules) if f.kind is kind]
    assert len(found) == 1, check(text, rules)
    flag = found[0]
    assert text[flag.start : flag.end] == flag.text
    return flag


def test_hardening_R5_7_phone_split_by_zero_width_space_is_flagged(rules: Messages) -> None:
    text = "有问题打我 138\u200b1234\u200b5678"
    flag = flagged(text, rules, FlagKind.PHONE_NUMBER)
    assert flag.text == "138\u200b1234\u200b5678" and flag.read_as == "13812345678"


def test_hardening_R5_7_phone_split_by_zero_width_joiner_is_flagged(rules: Messages) -> None:
    flag = flagged("电话 139\u200d8765\u200d4321", rules, FlagKind.PHONE_NUMBER)
    assert flag.read_as == "13987654321"


def test_hardening_R5_7_phone_split_by_soft_hyphens_is_flagged(rules: Messages) -> None:
    flag = flagged("手机 13\u00ad912\u00ad345\u00ad678 找我", rules, FlagKind.PHONE_NUMBER)
    assert flag.read_as == "13912345678"


def test_hardening_R5_7_phone_split_by_word_joiners_is_flagged(rules: Messages) -> None:
    flag = flagged("联系 186\u20601234\u20605678", rules, FlagKind.PHONE_NUMBER)
    assert flag.read_as == "18612345678"


def test_hardening_R5_7_phone_in_arabic_indic_digits_is_flagged(rules: Messages) -> None:
    flag = flagged("电话 ١٣٨١٢٣٤٥٦٧٨", rules, FlagKind.PHONE_NUMBER)
    assert flag.text == "١٣٨١٢٣٤٥٦٧٨" and flag.read_as == "13812345678"


def test_hardening_R5_7_phone_in_devanagari_digits_is_flagged(rules: Messages) -> None:
    flag = flagged("手机 १३८-१२३४-५६७८", rules, FlagKind.PHONE_NUMBER)
    assert flag.read_as == "138-1234-5678"


def test_hardening_R5_7_phone_in_full_width_digits_and_commas_is_flagged(
    rules: Messages,
) -> None:
    flag = flagged("电话１３８，１２３４，５６７８", rules, FlagKind.PHONE_NUMBER)
    assert flag.text == "１３８，１２３４，５６７８" and flag.read_as == "138,1234,5678"


def test_hardening_R5_7_phone_reversed_by_a_right_to_left_override_is_flagged(
    rules: Messages,
) -> None:
    # shown as 13812345678: the override displays the digits right to left
    text = "有事打 \u202e87654321831\u202c 谢谢"
    flag = flagged(text, rules, FlagKind.PHONE_NUMBER)
    assert flag.text == "87654321831" and flag.read_as == "13812345678"


def test_hardening_R5_7_domain_split_by_a_zero_width_space_is_flagged(rules: Messages) -> None:
    flag = flagged("去 taobao\u200b.com 搜我们店", rules, FlagKind.THIRD_PARTY_LINK)
    assert flag.text == "taobao\u200b.com" and flag.read_as == "taobao.com"


def test_hardening_R5_7_domain_with_cyrillic_look_alikes_is_flagged(rules: Messages) -> None:
    text = "上 t\u0430ob\u0430\u043e.com 搜店名"  # Cyrillic а, а, о
    flag = flagged(text, rules, FlagKind.THIRD_PARTY_LINK)
    assert flag.text == "t\u0430ob\u0430\u043e.com" and flag.read_as == "taobao.com"


def test_hardening_R5_7_spaced_out_insult_is_flagged(rules: Messages) -> None:
    flag = flagged("你是不是傻   逼", rules, FlagKind.ABUSE)
    assert (flag.text, flag.match) == ("傻   逼", "傻逼")


def test_hardening_R5_7_insult_with_a_look_alike_letter_is_flagged(rules: Messages) -> None:
    flag = flagged("IDlOT", rules, FlagKind.ABUSE)  # l for I: one TS #39 skeleton
    assert (flag.text, flag.match) == ("IDlOT", "idiot")


def test_hardening_R5_7_threat_in_chat_shorthand_is_flagged(rules: Messages) -> None:
    flag = flagged("I know where u live", rules, FlagKind.THREAT)
    assert (flag.text, flag.match) == ("I know where u live", "i know where you live")


# --------------------------------------------------------------------------- reading
@pytest.mark.parametrize(
    "text, kind, found",
    [
        ("you 1diot", FlagKind.ABUSE, "1diot"),
        ("\u0455tupid buyer", FlagKind.ABUSE, "\u0455tupid"),  # Cyrillic ѕ
        ("You are an \u0399D\u0399\u039fT", FlagKind.ABUSE, "\u0399D\u0399\u039fT"),  # Greek
        ("\U0001d422\U0001d41d\U0001d422\U0001d428\U0001d42d", FlagKind.ABUSE, None),  # 𝐢𝐝𝐢𝐨𝐭
        ("i d i o t", FlagKind.ABUSE, "i d i o t"),
        ("what the f**k", FlagKind.ABUSE, "f**k"),
        ("you a$$hole", FlagKind.ABUSE, "a$$hole"),
        ("you idiots", FlagKind.ABUSE, "idiots"),
        ("watch ur back", FlagKind.THREAT, "watch ur back"),
        ("\u0131 know where you l\u0131ve", FlagKind.THREAT, None),  # dotless ı
        ("弄 死 你", FlagKind.THREAT, "弄 死 你"),
        ("好\u200b评\u200b返\u200b现", FlagKind.ADVERTISING, None),
        ("打 一三九 八七六五 四三二一", FlagKind.PHONE_NUMBER, "一三九 八七六五 四三二一"),
        ("号码 138 - 1234 - 5678", FlagKind.PHONE_NUMBER, "138 - 1234 - 5678"),
        ("my cell \u202e1762-555-514 1+\u202c", FlagKind.PHONE_NUMBER, None),  # +1 415…
        ("淘宝 taobao 。com 搜同款", FlagKind.THIRD_PARTY_LINK, "taobao 。com"),
        ("v\u0445: lily_88", FlagKind.THIRD_PARTY_LINK, "v\u0445: lily_88"),  # Cyrillic х
        ("扣扣 ٩٨٧٦٥٤٣٢١", FlagKind.THIRD_PARTY_LINK, "扣扣 ٩٨٧٦٥٤٣٢١"),
    ],
)
def test_R5_7_messages_are_read_as_shown(
    rules: Messages, text: str, kind: FlagKind, found: str | None
) -> None:
    flag = flagged(text, rules, kind)
    if found is not None:
        assert flag.text == found


def test_R5_7_a_look_alike_of_the_marketplaces_own_host_is_a_third_party_link(
    rules: Messages,
) -> None:
    assert check("店铺主页 https://v.douyin.com/iRNBbq5/", rules) == []
    spoof = "点这里领补偿 https://v.d\u043euyin.com/abc123"  # Cyrillic о
    flag = flagged(spoof, rules, FlagKind.THIRD_PARTY_LINK)
    assert flag.read_as == "https://v.douyin.com/abc123"


@pytest.mark.parametrize(
    "text",
    [
        "That's hit or miss with this courier, so we've switched to SF for you.",
        "快递员明天会上门找你取件，麻烦在家等一下。",  # 上门找你 is no threat here (v6)
        "相机的曝光你调到 -0.7 试试。",  # nor 曝光你 (v6)
        "Please let us know where you live so we can send a courier.",
        "Thank u for the photos, we'll refund u today.",
        "The K1LLER-X headset has a 2-year warranty.",
        "U盘是 64GB 的，插上电脑就能用。",
        "预计 2026-11-25 13:45 送达，请保持电话畅通。",
    ],
)
def test_R5_7_service_language_is_not_flagged_however_it_is_read(
    rules: Messages, text: str
) -> None:
    assert check(text, rules) == []


def test_R5_7_flags_stored_before_read_as_existed_still_load() -> None:
    old = {"kind": "phone_number", "start": 0, "end": 11, "text": "13812345678", "match": "m"}
    assert Flag.from_json(old).read_as == "13812345678"


def test_R5_7_a_summary_says_how_hidden_text_was_read(rules: Messages) -> None:
    assert summary(check("打 138\u200b1234\u200b5678", rules)) == (
        "phone_number “138\u200b1234\u200b5678” → “13812345678”"
    )
    assert summary(check("打 13812345678", rules)) == "phone_number “13812345678”"


INVISIBLE = st.sampled_from(
    ["\u200b", "\u200c", "\u200d", "\u00ad", "\u2060", "\ufeff", "\u200e", "\u2063", "\u034f"]
)
ZEROS = st.sampled_from([0x30, 0x660, 0x6F0, 0x966, 0x9E6, 0xE50, 0xFF10, 0x1D7CE])


@PROPERTY
@given(data=st.data())
def test_R5_7_property_a_mobile_number_in_any_digits_with_invisible_characters_is_flagged(
    rules: Messages, data: st.DataObject
) -> None:
    digits = (
        "1"
        + data.draw(st.sampled_from("3456789"))
        + data.draw(st.text(alphabet="0123456789", min_size=9, max_size=9))
    )
    zero = data.draw(ZEROS)
    number = ""
    for i, d in enumerate(digits):
        if i:
            number += "".join(data.draw(st.lists(INVISIBLE, max_size=2)))
        number += chr(zero + int(d))
    text = "电话 " + number + " 谢谢"
    flag = flagged(text, rules, FlagKind.PHONE_NUMBER)
    assert flag.read_as == digits


# --------------------------------------------------------------------------- the views
def test_R5_7_the_base_view_is_the_text_as_shown_and_maps_back() -> None:
    text = "a\u200bb \u202ecba\u202c x ١٢ Ｙ"
    shown = views.base(text)
    assert shown.text == "ab abc x 12 y"
    # every character of the view comes from the one it shows
    for ch, o in zip(shown.text, shown.origin, strict=True):
        assert views.base(text[o]).text == ch
    start, end = shown.span(3, 6)  # "abc", shown reversed
    assert text[start:end] == "cba"
    assert shown.within(start, end) == "abc"


def test_R5_7_lines_are_put_in_display_order_one_by_one() -> None:
    assert views.base("\u202e21\n34").text == "12\n34"  # an override ends with its line


def test_R5_7_term_views_read_skeletons_as_written_and_upper_cased() -> None:
    assert views.term_keys("idiot") == ("idiot", "ldlot")
    lower, upper = views.terms(views.base("IDlOT 1diot \u0455tupid"))
    assert upper.text.split()[:2] == ["ldlot", "ldlot"]
    assert lower.text.split()[2] == "stupid"


@pytest.mark.parametrize("text", ["\u202e\ud800 13812345678", "a\ud800b \u202e87654321831"])
def test_R5_7_a_lone_surrogate_does_not_break_the_checks(rules: Messages, text: str) -> None:
    # ICU may refuse such a line; it is then read in logical order
    for flag in check(text, rules):
        assert text[flag.start : flag.end] == flag.text


@pytest.mark.timeout(60)
def test_R5_7_long_runs_of_blanks_and_separators_are_checked_in_bounded_time(
    rules: Messages,
) -> None:
    # a gap that could be split many ways once took minutes on "i" + 1999 blanks
    for text in (
        "i" + " " * 1999,
        "傻" + " " * 1999,
        "s" + "." * 1999,
        "i d " * 500,
        "傻 . " * 500,
        "1 - " * 500,
        "1" * 2000,
        "a。" * 1000,
        "a 点 " * 500,
    ):
        assert check(text, rules) == []
