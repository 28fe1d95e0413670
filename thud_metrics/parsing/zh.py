"""Chinese: the rules that read answers written in Chinese (simplified or traditional), alone
or mixed with English.

Traditional characters are first mapped to simplified ones (:func:`to_simplified`, a
character table restricted to the characters these rules use, taken from OpenCC's
``TSCharacters`` data), so one set of rules reads both scripts. The rules mirror the English
ones: claim patterns with a negation look-back (``不``/``没``/``无``/``未``/``并非`` within a
few characters before the claim: ``没有明显的延迟`` is no delay), hedges (``很难判断``) that
drop their clause, provisional clauses (``一开始``) corrected by a later one, option letters
(``答案是C``, ``选B``), leading yes/no (``是的`` / ``不是``, ``否``), refusals
(``我无法处理音频``, ``只能看到画面``) and the timing of sound vs picture with the subject
deciding the sign (``声音比画面早`` is early, ``画面比声音早`` delayed, ``撞击发生后才听到声音``
delayed).
"""

from __future__ import annotations

import re

# -- traditional -> simplified -------------------------------------------------------------

# (traditional, simplified) pairs from OpenCC TSCharacters for every simplified character
# that the patterns of this package contain (test_parsing checks the coverage).
_T2S_PAIRS = (
    "並并併并來来係系個个傳传僅仅儘尽內内兩两別别剛刚動动問问圖图實实對对幀帧彆别後后"
    "應应換换搶抢擇择擊击斷断於于時时會会査查沒没準准滯滞為为無无爲为獲获現现畫画畵画"
    "發发盡尽確确穫获箇个節节約约終终緻致繫系纔才聲声聽听脫脱與与處处號号衕同裏里裡里"
    "見见視视覺觉訊讯訪访該该語语說说説说論论識识讀读軌轨這这過过遲迟選选還还錯错鏡镜"
    "開开閤合關关際际隨随隻只雖虽難难靜静響响項项領领頭头頻频顯显體体髮发麪面麫面麵面"
    "齊齐齣出"
)
_T2S = str.maketrans(dict(zip(_T2S_PAIRS[0::2], _T2S_PAIRS[1::2], strict=True)))


def to_simplified(text: str) -> str:
    """Traditional Chinese characters (those the rules need) to simplified ones.

    >>> to_simplified("聲音與畫面同步")
    '声音与画面同步'
    """
    return text.translate(_T2S)


# -- clauses, framing ----------------------------------------------------------------------

#: words that end a clause (the first three also start a contrast segment)
CLAUSE_WORDS_ZH = "但是|但(?!是)|不过|然而|可是|所以|因此|因为|而且|并且|而是|随后|然后"
#: contrast markers: what follows corrects what came before
CONTRAST_ZH = "但是|但|不过|然而|可是|其实|实际上|而是"

#: a clause the answer does not commit to ("很难判断", "不确定")
HEDGE_ZH = r"很难(?:判断|说|确定|分辨)|难以(?:判断|确定|分辨)|无法(?:判断|确定|分辨)|不(?:太|能)?确定|说不准|不好说|分辨不出|看不出|不清楚"
#: a clause that an answer later corrects ("一开始", "乍一看")
PROVISIONAL_ZH = r"起初|一开始|刚开始|乍一看|乍听|原以为|本以为|我以为|^(?:虽然|尽管|虽)"
#: a tentative appearance ("看起来", "似乎"): dropped when a contrast follows
APPEARANCE_ZH = r"看起来|看上去|似乎|好像"
#: alternatives offered, none chosen ("是提前还是延迟", "或者")
ALTERNATIVE_ZH = r"还是|或者|或是"

#: the model says it has no audio (checked before anything else)
REFUSAL_ZH = (
    r"作为一?个?(?:ai|人工智能|语言模型|文本模型|视觉模型|大模型)|"
    r"(?:无法|不能|没法|不支持)(?:处理|访问|获取|分析|接收|读取|播放|识别)(?:视频的|视频中的|该|这个)?\s*"
    r"(?:音频|音讯|声音|音轨|audio|sound)|"
    r"只能(?:看到|分析|处理|查看|看|获取|接收)(?:视频的?|影片的?)?(?:画面|图像|帧|图片|视觉)|"
    r"(?:没有|未|并未)(?:收到|提供|获得|接收到?|获取到?)(?:任何)?(?:音频|音讯|audio)|"
    r"没有(?:听觉|处理音频的能力|音频能力)"
)

#: a leading yes / no (followed by punctuation or the end)
YES_ZH = r"是的|是啊|对的|对|有的|有|能|可以|嗯"
NO_ZH = r"不是|否|不对|不能|不可以|没有|没|不"

#: option letters: "答案是C", "选B", "选择 (A)", "B选项"
LETTER_CUE_ZH = r"(?:答案|选项|选择|我选|应选|故选|选)\s*(?:是|为|应该是|应为)?\s*:?\s*"
LETTER_AFTER_ZH = r"([A-E])\s*选项"

# -- claims --------------------------------------------------------------------------------

_AUDIO = r"(?:声音|音频|音讯|音效|音轨|声响|响声|[\u4e00-\u9fff]{1,3}声(?!音)|sound|audio)"
_VISUAL = r"(?:画面|视频|影片|图像|动作|撞击(?!声)|碰撞(?!声)|落地|着地|事件|镜头|视觉|图片|video|picture|visuals?)"

#: (claim, pattern) in order; what a pattern reads is blanked for the patterns after it
RULES_ZH: tuple[tuple[str, str], ...] = (
    # "听不到玻璃破碎的声音": the visible source is not heard (other sounds may be)
    ("source_silent", r"(?:听不到|听不见|没有?听到|没有?听见)(?!任何)[\u4e00-\u9fff]{2,10}的?声"),
    ("silent", r"听不到|听不见|听不出|没有?(?:听到|听见)|无声|静音|寂静|一片安静|没有(?:任何)?(?:声音|声响|音频)|没声音|声音缺失"),
    # "对不上" (does not fit): out of time under the sync question, another sound under the others
    ("offsync+mismatch", r"对不上号?|对不齐"),
    ("mismatch", r"无关|毫无关系|没有关系|不相关|不符|不搭|来自(?:不同|其他|另一|别的|其它)|另一个视频|其他视频|换成了|被替换"),
    ("offsync", r"错位|脱节"),
    ("synced", r"同步|同时|对齐|准时"),
    (
        "match",
        r"匹配|相符|符合|一致|吻合|对应|对得上|对上|相关|就是[\u4e00-\u9fff]{0,10}的声音|"
        r"是[\u4e00-\u9fff]{1,10}的声音|"
        r"来自(?:这个|该|画面中?的?|视频中?的?)?[\u4e00-\u9fff]{0,4}(?:事件|物体|动作|画面)|(?:这个|该)?事件发出",
    ),
    ("present", r"听到|听见|听得到|听得见|能听|可以听|有[\u4e00-\u9fff]{0,4}?声|传来|响起|听起来|声音是"),
)

#: a negator right before a claim (within NEGATION_WINDOW characters); "不同" (different),
#: "不过" (but), "无关", "非常" (very) are not negations
NEGATOR_ZH = re.compile(r"不(?!同(?!步)|过|久|断|仅|少|一会|由)|没|无(?!论|关)|未|并非|毫无|非(?!常)")
NEGATION_WINDOW = 8

# -- direction -----------------------------------------------------------------------------

_SIDE = re.compile(rf"(?P<a>{_AUDIO}|听到|听见|传来|响起)|(?P<v>{_VISUAL})")
_IN_PICTURE = re.compile(r"[中里内]")  # "视频中的声音": the video as a place, not a side
# kind of direction word: post (X之前: before X), cmp (X先于 Y), then (随后 Y: Y comes later),
# plain (提前, 延迟, 早, 晚: said of the subject)
_DIRECTION = re.compile(
    r"(?P<post_e>之前|以前|(?<=发生|出现|落地|着地|撞击)前)|(?P<post_l>之后|以后|(?<=发生|出现|落地|着地|撞击)后)|"
    r"(?P<cmp_e>先于|早于|领先于?|超前于?)|(?P<cmp_l>晚于|迟于|后于|落后于?|滞后于?)|"
    r"(?P<then>随后才?|然后才?|才(?=[\u4e00-\u9fff]{0,3}(?:听到|听见|传来|出现|响起|发出)))|"
    r"(?P<plain_e>提前|抢先|早(?!期)|先(?!生))|(?P<plain_l>延迟|延后|晚(?!上)|迟|慢)"
)


def _sides(clause: str) -> list[tuple[int, str]]:
    """(position, 'A' or 'V') of every sound or picture word, not counting "in the video"."""
    out = []
    for m in _SIDE.finditer(clause):
        if m.group("v") and _IN_PICTURE.match(clause, m.end()):
            continue
        out.append((m.start(), "A" if m.group("a") else "V"))
    return out


def _opposite(side: str) -> str:
    return "V" if side == "A" else "A"


def directions_zh(clause: str) -> list[tuple[str, int]]:
    """('early' or 'delayed', position) for each direction word of a Chinese clause.

    The subject decides the sign: it is the sound (A) or the picture (V). With "比" the
    word after it is the comparison, so the subject is the other side; a postposition
    (之前/之后) relates an implicit subject to the word before it; "随后/才" puts its
    subject after it; otherwise the first side word is the subject, and with none the
    question is about the sound.

    >>> directions_zh("声音比画面早"), directions_zh("画面中的撞击先发生"), directions_zh("撞击发生后才听到声音")
    ([('early', 5)], [('delayed', 6)], [('delayed', 4), ('delayed', 5)])
    """
    sides = _sides(clause)
    out = []
    for m in _DIRECTION.finditer(clause):
        kind = m.lastgroup or ""
        early = kind.endswith("_e")
        before = [s for p, s in sides if p < m.start()]
        after = [s for p, s in sides if p >= m.end()]
        if kind.startswith("post"):
            subject = before[0] if len(before) >= 2 else (_opposite(before[-1]) if before else "A")
        elif kind == "then":
            early = False
            subject = after[0] if after else "A"
        else:
            bi = clause.rfind("比", 0, m.start())
            compared = [s for p, s in sides if bi >= 0 and bi < p < m.start()]
            if compared:
                subject = _opposite(compared[0])
            elif before:
                subject = before[0]
            elif kind.startswith("cmp") and after:
                subject = _opposite(after[0])
            else:
                subject = "A"
        audio_first = early if subject == "A" else not early
        out.append(("early" if audio_first else "delayed", m.start()))
    return out
