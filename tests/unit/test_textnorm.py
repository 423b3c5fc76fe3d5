"""The normaliser NLU and the drafting core read text through."""
from assist.text.normalize import normalize, normalize_with_map


def test_traditional_becomes_simplified():
    assert normalize("我要退貨，這個質量太差了") == "我要退货,这个质量太差了"


def test_full_width_becomes_half_width():
    assert normalize("ＡＢＣ１２３！？") == "ABC123!?"


def test_spaces_between_chinese_are_dropped_and_latin_spaces_kept_single():
    assert normalize("我要  退货 ok   thanks") == "我要退货ok thanks"


def test_long_repeats_keep_three_copies_but_digits_survive():
    assert normalize("啊啊啊啊啊啊！！！！！！") == "啊啊啊!!!"
    assert normalize("单号1111111111") == "单号1111111111"


def test_emoji_survive_as_signal():
    assert normalize("😡😡 气死了") == "😡😡气死了"


def test_leading_command_slash_is_removed():
    assert normalize("/restart") == "restart"
    assert normalize("  ／greet") == "greet"
    assert normalize("//intent{\"a\": 1}").startswith("intent")


def test_length_cap_and_empty_input():
    assert len(normalize("好" * 10_000)) <= 3  # squeezed repeats
    assert len(normalize("我要退货" * 3000)) == 500
    assert normalize("") == "" and normalize(None) == ""


def test_control_and_zero_width_characters_are_removed():
    assert normalize("退\u200b款\x00") == "退款"


def test_spans_follow_the_text():
    result = normalize_with_map("快遞  五天了")
    start, end = result.map_span(4, 6)
    assert result.text[start:end] == "五天"
    assert result.map_span(2, 4) is None  # only whitespace there


def test_a_lone_surrogate_reads_as_a_replacement_character_and_never_crashes_opencc():
    from assist.text.normalize import REPLACEMENT, normalize_with_map, to_simplified

    assert to_simplified("\ud800退貨") == f"{REPLACEMENT}退货"
    normalized = normalize_with_map("我要\udfff退貨")
    assert "\udfff" not in normalized.text and "退货" in normalized.text and REPLACEMENT in normalized.text
