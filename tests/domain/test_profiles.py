"""Policy profiles: shipped TOML validates, tiktok extends douyin, the model is strict."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from aftersales.domain.policy import Profile, RefusalCode
from aftersales.profiles import load_profiles


def test_both_shipped_profiles_validate(profiles: dict[str, Profile]) -> None:
    assert {"douyin", "tiktok"} <= set(profiles)
    for pid, profile in profiles.items():
        assert isinstance(profile, Profile)
        assert profile.id == pid
        assert profile.version >= 1
        # round-trip through the model
        assert Profile.model_validate(profile.model_dump()) == profile
        codes = [c.code for c in profile.refusal_codes]
        assert len(codes) == len(set(codes))
        for code in profile.refusal_codes:
            assert code.rule.startswith("R")
            if code.evidence_required:
                assert code.evidence_kinds


def test_tiktok_extends_douyin(douyin: Profile, tiktok: Profile) -> None:
    # inherited
    assert tiktok.refusal_codes == douyin.refusal_codes
    assert tiktok.windows == douyin.windows
    assert tiktok.merchant_side_groups == douyin.merchant_side_groups
    # overridden (R5.6)
    assert douyin.handling.max_buyer_edits is None
    assert tiktok.handling.max_buyer_edits is not None
    assert tiktok.handling.resubmit_window_hours != douyin.handling.resubmit_window_hours
    # the rest of [handling] is merged, not replaced
    same = {"max_buyer_edits", "resubmit_window_hours"}
    for field in type(douyin.handling).model_fields:
        if field not in same:
            assert getattr(tiktok.handling, field) == getattr(douyin.handling, field), field
    assert tiktok.id == "tiktok" and tiktok.currency != douyin.currency


def _raw(profile: Profile) -> dict[str, Any]:
    return profile.model_dump(mode="json")


def test_unknown_key_in_a_profile_is_refused(douyin: Profile) -> None:
    data = _raw(douyin) | {"refund_everything": True}
    with pytest.raises(ValidationError, match="extra"):
        Profile.model_validate(data)
    nested = _raw(douyin)
    nested["handling"] = nested["handling"] | {"merchant_respnse_hours": 24}  # a typo
    with pytest.raises(ValidationError, match="extra"):
        Profile.model_validate(nested)


def test_unknown_key_in_an_operator_profile_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "shop_x.toml").write_text(
        'extends = "douyin"\nid = "shop_x"\nversion = 1\n\n[windows]\nno_reason_dayz = 10\n',
        encoding="utf-8",
    )
    with pytest.raises(ValidationError, match="no_reason_dayz"):
        load_profiles(tmp_path)


def test_operator_profile_overrides_one_number(tmp_path: Path, douyin: Profile) -> None:
    (tmp_path / "shop_x.toml").write_text(
        'extends = "douyin"\nid = "shop_x"\nversion = 1\n\n'
        "[handling]\nmerchant_response_hours = 24\n",
        encoding="utf-8",
    )
    shop = load_profiles(tmp_path)["shop_x"]
    assert shop.handling.merchant_response_hours == 24
    assert shop.windows == douyin.windows


def test_refusal_code_requiring_evidence_needs_evidence_kinds(douyin: Profile) -> None:
    with pytest.raises(ValidationError, match="evidence_kinds"):
        RefusalCode(
            code="looks_used",
            label_en="Looks used",
            label_zh_CN="疑似使用过",
            stages=("after_receipt",),
            evidence_required=True,
            rule="R5.5",
        )
    data = _raw(douyin)
    data["refusal_codes"] = [
        *data["refusal_codes"],
        {
            "code": "looks_used",
            "label_en": "Looks used",
            "label_zh_CN": "疑似使用过",
            "stages": ["after_receipt"],
            "evidence_required": True,
            "evidence_kinds": [],
            "rule": "R5.5",
        },
    ]
    with pytest.raises(ValidationError, match="evidence_kinds"):
        Profile.model_validate(data)


def test_duplicate_refusal_codes_are_refused(douyin: Profile) -> None:
    data = _raw(douyin)
    data["refusal_codes"] = [*data["refusal_codes"], data["refusal_codes"][0]]
    with pytest.raises(ValidationError, match="unique"):
        Profile.model_validate(data)


def test_profiles_are_frozen(douyin: Profile) -> None:
    with pytest.raises(ValidationError):
        douyin.handling.merchant_response_hours = 1  # type: ignore[misc]
