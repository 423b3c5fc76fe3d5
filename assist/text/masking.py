"""Mask what identifies a customer before any text leaves the store for a report or a proposal.

Phone numbers, order and tracking numbers, e-mail addresses, ID-card numbers, street
addresses and personal names are replaced by labelled placeholders (<手机号>, <订单号>,
<地址>, <姓名> …). Names have no shape in Chinese, so we mask the forms in which shoppers
give them: a surname with 先生/女士/小姐, and a name after 我叫 / 收件人 / 姓名. The masks
err on the side of masking: a report loses a word rather than leak a phone number.
"""
from __future__ import annotations

import re
from typing import Callable, List, Tuple

PHONE, ORDER, TRACKING, EMAIL, ID_CARD, ADDRESS, NAME = (
    "<手机号>", "<订单号>", "<运单号>", "<邮箱>", "<证件号>", "<地址>", "<姓名>")
MASKS = (PHONE, ORDER, TRACKING, EMAIL, ID_CARD, ADDRESS, NAME)

# Common surnames (single and double): enough to catch 王先生, 欧阳女士.
_SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范"
             "金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
_DOUBLE_SURNAMES = ("欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "慕容", "令狐", "司徒", "尉迟", "长孙", "宇文")
_CN = "\u4e00-\u9fff"

_RULES: List[Tuple["re.Pattern[str]", Callable[["re.Match[str]"], str]]] = [
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"), lambda m: EMAIL),
    (re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])"), lambda m: ID_CARD),
    (re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?!\d)"), lambda m: PHONE),
    (re.compile(r"(?<!\d)0\d{2,3}-\d{7,8}(?!\d)"), lambda m: PHONE),
    # Carrier tracking numbers: letters then digits (YT…, SF…, JD…).
    (re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2,4}\d{8,20}(?![0-9])"), lambda m: TRACKING),
    (re.compile(r"(?<![0-9A-Za-z])\d{8,30}(?![0-9])"), lambda m: ORDER),
    # A labelled address runs to the end of its clause.
    (re.compile(rf"((?<!<)(?:收货|寄件|送货|配送|家庭|公司)?地址(?:是|为|在)?[:：]?\s*)[^，,。！!？?\s<]{{2,60}}"),
     lambda m: m.group(1) + ADDRESS),
    # Unlabelled: an administrative division followed by a street part.
    (re.compile(rf"[{_CN}]{{2,8}}(?:省|市|自治区)(?:[{_CN}]{{1,8}}(?:市|区|县|旗|镇|乡|街道))*"
                rf"(?:[{_CN}0-9A-Za-z-]{{1,20}}(?:路|街|巷|弄|道|号|栋|幢|楼|单元|室|小区|村|组|大厦|公寓))+"), lambda m: ADDRESS),
    (re.compile(rf"[{_CN}]{{1,8}}(?:区|县)[{_CN}0-9]{{1,12}}(?:路|街|巷|弄)[0-9一二三四五六七八九十]+号[{_CN}0-9-]{{0,12}}"), lambda m: ADDRESS),
    (re.compile(rf"((?:我叫|我的名字是|名字是|名字叫|姓名[:：]?|收件人(?:是|叫)?[:：]?|联系人(?:是)?[:：]?)\s*)[{_CN}]{{2,4}}"),
     lambda m: m.group(1) + NAME),
    (re.compile(rf"(?:{'|'.join(_DOUBLE_SURNAMES)}|[{_SURNAMES}])[{_CN}]?(?=先生|女士|小姐)"), lambda m: NAME),
]


def mask(text: str) -> str:
    """The text with personal data replaced by placeholders; mask(mask(t)) == mask(t)."""
    if not text:
        return text or ""
    out = text
    for pattern, replace in _RULES:
        out = pattern.sub(replace, out)
    return out
