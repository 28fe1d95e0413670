"""The rules as data: English claim patterns, framing cues, option letters, and the
precedence table of each dimension.

A *claim* is what one clause of an answer asserts about the sound: a kind from
:data:`CLAIM_KINDS`. Claims are found by ordered patterns (:data:`RULES_EN`, and
:data:`~thud_metrics.parsing.zh.RULES_ZH` for Chinese); what a pattern reads is blanked so
that "out of sync" is never read again as "sync". A negation before a claim in its clause
turns it into its opposite (:data:`NEGATED`): "not synchronized" is ``offsync``, "no
delay" is ``no_offset``, "doesn't match" is ``mismatch``, "can't hear" is ``silent``.

Which claim decides the label is a table per dimension (:data:`PRECEDENCE`), read top to
bottom: the first row whose claims are all present gives the label. Adding a phrase adds a
claim; it cannot reorder the table.
"""

from __future__ import annotations

import re

from thud_dataset.vocab import UNKNOWN

# -- claims --------------------------------------------------------------------------------

#: what a clause can assert
CLAIM_KINDS: tuple[str, ...] = (
    "synced",  # in sync, at the same moment
    "offsync",  # out of sync, no direction given
    "early",  # the sound comes before the picture
    "delayed",  # the sound comes after the picture
    "no_offset",  # a direction or a delay denied: "not late", "no delay"
    "silent",  # no sound: "muted", "can't hear anything"
    "present",  # a sound is heard: "I hear a bang", "audible", "sounds like rain"
    "source_silent",  # the visible source makes no sound: "no sound from the ladder"
    "present_source",  # a named source is heard ("I hear the door slam"); negated: source_silent
    "match",  # the sound belongs to the event: "matches", "the sound of the box landing"
    "mismatch",  # the sound is from elsewhere: "doesn't match", "a different source"
    "yes",  # a leading "yes"
    "no",  # a leading "no"
)
#: what a negated claim becomes
NEGATED: dict[str, str] = {
    "synced": "offsync",
    "offsync": "synced",
    "early": "no_offset",
    "delayed": "no_offset",
    "no_offset": "no_offset",
    "silent": "present",
    "present": "silent",
    "source_silent": "present",
    "present_source": "source_silent",
    "match": "mismatch",
    "mismatch": "match",
}
#: claims about the same thing; when a contrast ("but", "however") separates two claims of
#: one family, the later one corrects the earlier
FAMILIES: dict[str, str] = {
    "synced": "timing", "offsync": "timing", "early": "timing", "delayed": "timing", "no_offset": "timing",
    "silent": "presence", "present": "presence",
    # a claim about the visible source, not about the whole audio: "music, but no sound
    # from the glass" keeps both the music and the silent glass
    "source_silent": "source", "present_source": "source",
    "match": "source", "mismatch": "source",
    "yes": "answer", "no": "answer",
}  # fmt: skip

# -- precedence ----------------------------------------------------------------------------

Row = tuple[frozenset[str], str]


def _rows(*rows: tuple[str, str]) -> tuple[Row, ...]:
    return tuple((frozenset(need.split("+")), label) for need, label in rows)


#: per dimension, (claims that must all be present, label) rows; the first row that holds
#: gives the label, and none gives ``unknown``. None is an answer read without a question:
#: only claims that mean the same under every question count.
PRECEDENCE: dict[str | None, tuple[Row, ...]] = {
    # "Is the sound synchronized, early or delayed?"
    "sync": _rows(
        ("early+delayed", UNKNOWN),  # two directions: no answer
        ("early", "early"),
        ("delayed", "delayed"),
        ("silent", "silent"),
        ("source_silent", "silent"),
        ("offsync", UNKNOWN),  # out of sync, no direction: no label to give
        ("no", UNKNOWN),  # a bare "no": not synced, but which way?
        ("synced", "synced"),
        ("no_offset", "synced"),  # "no delay", "not late"
        ("match", "synced"),
        ("yes", "synced"),
        ("mismatch", "mismatched"),
    ),
    # "Can you hear the sound of this event?"
    "existence": _rows(
        ("silent", "silent"),
        ("mismatch", "mismatched"),  # a sound, but another one
        ("source_silent+present", "mismatched"),
        ("source_silent", "silent"),
        ("early+delayed", UNKNOWN),
        ("early", "early"),
        ("delayed", "delayed"),
        ("present", "synced"),
        ("synced", "synced"),
        ("no_offset", "synced"),
        ("offsync", "synced"),  # a sound that is out of sync is a sound
        ("match", "synced"),
        ("yes", "synced"),
        ("no", "silent"),
    ),
    # "Does the sound you hear come from this event?"
    "consistency": _rows(
        ("source_silent+present", "mismatched"),  # "wind noise; no sound from the ladder"
        ("silent", "silent"),
        ("source_silent", "silent"),
        ("mismatch", "mismatched"),
        ("match", "synced"),
        ("synced", "synced"),
        ("no_offset", "synced"),
        ("yes", "synced"),
        ("early+delayed", UNKNOWN),
        ("early", "early"),
        ("delayed", "delayed"),
        ("no", "mismatched"),
    ),
    None: _rows(
        ("silent", "silent"),
        ("mismatch", "mismatched"),
        ("early+delayed", UNKNOWN),
        ("early", "early"),
        ("delayed", "delayed"),
        ("offsync", UNKNOWN),
        ("synced", "synced"),
        ("no_offset", "synced"),
        ("match", "synced"),
        ("yes", "synced"),
    ),
}


def decide(claims: set[str], dimension: str | None) -> str:
    """The label of a set of claims under a dimension's question (:data:`PRECEDENCE`).

    >>> decide({"no_offset", "match"}, "sync"), decide({"offsync"}, "sync"), decide({"no"}, "existence")
    ('synced', 'unknown', 'silent')
    """
    for need, label in PRECEDENCE[dimension]:
        if need <= claims:
            return label
    return UNKNOWN


# -- English claim patterns ----------------------------------------------------------------

SOUND_NOUN = (
    r"(?:sounds?|noises?|audio|thuds?|bangs?|crash(?:es)?|clangs?|thumps?|booms?|splash(?:es)?|cracks?|clicks?|"
    r"knocks?|claps?|pops?|snaps?|crunch(?:es)?|rattles?|roars?|ringing|rings?|beeps?|music|voices?|speech|"
    r"barks?|barking|chirps?|chirping|sirens?|horns?|applause|cheering|strums?|squeaks?|screech(?:es)?|"
    r"whistles?|rumbles?|hum|hiss|buzz(?:ing)?|taps?|slams?|crackling|clatter|clinks?|thunder|soundtrack|"
    r"slaps?|explosions?|shatter(?:ing)?|squeals?|tones?)"
)
_TIMING_WORD = r"(?:being |the )?(?:synchroni|in sync|sync|early|late|delay|lining up|aligned|on time|silent|matching|in time)"

#: blanked before the claims are read: phrases that contain claim words but claim nothing
SKIP_EN = re.compile(
    r"\b(?:after|before) (?:carefully |closely |further )?(?:watching|viewing|analy[sz]ing|reviewing|listening|"
    r"examining|checking|looking|comparing|considering|observing|inspecting|evaluating|reading|seeing|hearing|"
    r"answering|responding|deciding|playing|thinking)\b|"
    r"\b(?:early|late|later|earlier) (?:on )?in (?:the|this) (?:video|clip|footage)\b|"
    r"\bat first\b|\bfirst of all\b|\bno doubt\b|\bwithout (?:a |any )?doubt\b|\bnot only\b|\bnot just\b|"
    r"\bno matter\b|\bnot (?=(?:\w+ ){0,3}until\b)"
)
#: "nothing but silence" means only silence
ONLY_EN = re.compile(r"\bnothing but\b|\bnothing except\b")

# A filler word between a subject and its key word may be a negator ("the audio is NOT
# missing"): such alternatives mark the key word with a group ``k``, and the negation
# look-back starts there. Alternatives without ``k`` start their look-back at the match.
_K = "(?P<k>"


def _rule(kind: str, *alternatives: str) -> list[tuple[str, re.Pattern[str]]]:
    """One compiled pattern for the plain alternatives of a claim, one per keyed one."""
    plain_alts = [a for a in alternatives if _K not in a]
    keyed = [a for a in alternatives if _K in a]
    out = [(kind, re.compile("|".join(plain_alts)))] if plain_alts else []
    return out + [(kind, re.compile(a)) for a in keyed]


#: (claim, pattern) in order; what a pattern reads is blanked for the later ones
RULES_EN: tuple[tuple[str, re.Pattern[str]], ...] = (
    # timing
    *_rule(
        "offsync",
        r"\bout of sync\w*|\bunsynchroni[sz]ed|\basynchron\w*|\bdesync\w*|\bmisalign\w*|\bmistimed",
        r"\boff[- ]sync\b|\bout of (?:time|step|alignment)\b",
        r"\b(?:is|are|seems?|looks?|sounds?|feels?|appears?|slightly|a bit|a little|bit|somewhat) off\b",
    ),
    *_rule(
        "synced",
        # "the sync", "its synchronization": the topic named, not a claim
        r"\bsynchroni[sz](?:ed|es)?\b|\bsynchronous\b|\bin sync\b|(?<!the )(?<!its )(?<!of )\bsync(?:ed|'d|s)?\b",
        r"\baligned\b|\bline(?:s|d)? up\b|\blining up\b",
        r"\bat the (?:same|exact same|right|very same) (?:time|moment|instant)\b|\bsimultaneous\w*|\bcoincid\w*",
        r"\b(?:exactly|precisely|right|just) (?:when|as)\b|\bthe (?:exact |very )?(?:moment|instant)\b",
        r"\b(?:perfectly|well|correctly|properly) timed\b|\bon time\b|\bin time with\b|\bright on (?:cue|time)\b",
        r"\b(?:timing|synchroni[sz]ation) (?:\w+ ){0,3}?(?:is|seems|looks|appears) (?:\w+ ){0,2}?"
        r"(?P<k>correct|right|fine|accurate|good|perfect|spot on)\b",
    ),
    # presence and source: the specific forms first
    *_rule(
        "source_silent",
        r"\bno (?:\w+ ){0,2}?(?:sounds?|noises?) (?:from|of|made by) (?:the|this|that) (?!video|clip|audio|footage|recording)",
    ),
    *_rule(
        "mismatch",
        r"\bmismatch\w*|\binconsisten\w*|\bincongru\w*|\bunrelated\b|\bdubbed\b|\bswapped\b|\breplaced\b",
        r"\bnothing to do with\b|\bno (?:connection|relation|relationship|link) (?:to|with)\b",
        r"\bfrom (?:a |an )?(?:different|other|another|unrelated|separate|some other)\b",
        r"\b(?:something|somewhere|someone) else\b|\banother (?:video|clip|source|recording|scene|event)\b",
        r"\b(?:different|unrelated|other|separate) (?:sound|audio|noise|source|event|video|clip|object|scene|"
        r"recording|thing)s?\b",
        r"\bwrong (?:sound|audio|noise|source)\b|\bnot (?:the |a |an )?(?:sound|noise)s? (?:of|from|made by)\b",
        r"\b(?:do|does|did) not sound like\b",
    ),
    *_rule(
        "silent",
        r"\b(?:no|not any|without|zero|lack of|absence of|free of) (?:\w+ ){0,2}?(?:sounds?|noises?|audio)\b"
        r"(?! (?:delay|lag|offset))",
        r"\b(?:silent|silence|muted|mute|soundless|inaudible|noiseless)\b",
        r"\b(?:everything|it|the (?:video|clip|audio|scene)) (?:is|was|seems|remains|stays) (?:\w+ )?(?P<k>quiet)\b",
        r"\b(?:audio|sound|soundtrack|audio track) (?:is|was|seems|appears) (?:\w+ )?(?:to be )?"
        r"(?P<k>absent|missing|empty|blank)\b",
    ),
    *_rule(
        "match",
        r"\bmatch(?:es|ed|ing)?\b|\bconsistent\b|\bcorrespond\w*|\bcongruent\b|\bfits?\b|\bfitting\b",
        r"\bplausible\b|\bbelongs?\b|\bgo(?:es)? together\b|\bexpected (?:sound|noise)\b",
        r"\bwhat (?:you|one|we|i) (?:would|might|could) expect\b",
        r"\b(?:caused|produced|made|generated|created) by\b|\bcomes? from (?:the|this|that)\b",
        r"\bfrom (?:this|the same) (?:event|source|object|action)\b|\b(?:is|are|was) the (?:sound|noise)s? of\b",
        r"(?:\b(?:is|are|was|were)|是) ?from (?:the|this|that)\b",
        r"\brelated to\b|\bconnected to\b|\bsounds? (?:right|correct|appropriate|realistic|natural|authentic)\b",
        rf"\b{SOUND_NOUN} (?:is|was) (?:the|this) (?!sound|noise|same|wrong|right)",
        rf"\b{SOUND_NOUN} of the \w+",
        rf"\b{SOUND_NOUN} (?:is|seems|sounds|looks|feels) (?:\w+ )?(?P<k>appropriate|suitable|fitting|natural|"
        rf"realistic|expected|correct|right) for\b",
        r"\b(?:make|makes|made|produce|produces|produced|cause|causes|caused|create|creates) (?:that|this|such a|the) "
        r"(?:sound|noise)\b",
    ),
    # hearing a named source: "I can't hear the door slam" (while other sounds may be heard)
    *_rule(
        "present_source",
        r"\b(?:hear|hears)\b(?= the (?!sound\b|sounds\b|audio\b|noise\b|noises\b|anything\b|soundtrack\b)\w+)",
    ),
    *_rule(
        "present",
        # the verb alone: a negation before it ("I can't hear anything") is found by the look-back
        r"\b(?:hear|hears)\b(?! (?:any |a |the )?(?:delay|lag|offset|difference|mismatch|gap|problem|issue)s?\b)",
        r"\baudible\b|\bwhat (?:you|we|i|one) hear(?:d)? (?:is|are)\b|\bsounds? (?:more |just |exactly )?like\b",
        r"\bresembles?\b|\brings? out\b",
        rf"\b(?:audio|sound|soundtrack|audio track|recording|video|clip) (?:is|contains|has|features|consists of|"
        rf"includes) (?:of |only |just |clearly |a |an |some |someone |the )?(?:\w+ )?(?:{SOUND_NOUN}\b|\w+ing\b)",
        rf"\b(?:make out|made out|detect|notice|perceive|discern|register|pick up|picked up|catch|caught)\w* "
        rf"(?:\w+ ){{0,3}}?{SOUND_NOUN}\b",
        r"\b(?:is|are|was|were|be|been) (?:\w+ ){0,2}?(?P<k>heard|audible)\b",
        rf"\bthere (?:is|are|was|were|seems to be|appears to be) (?:a |an |some |the )?(?:\w+ ){{0,2}}?"
        rf"(?P<k>{SOUND_NOUN})\b",
        rf"\b{SOUND_NOUN} (?:is|are|was|were) (?:\w+ )?(?P<k>present|there|loud|clear|faint|distinct|noticeable|"
        rf"prominent)\b",
        r"\b(?:video|clip|footage|recording|audio track|soundtrack) (?:\w+ ){0,2}?(?P<k>contains?|has|have|includes?|"
        r"features?) (?:any |a |an |some )?(?:\w+ )?(?:audio|sounds?|noises?)\b",
    ),
)


def claim_position(match: re.Match[str]) -> int:
    """Where a claim's negation look-back starts: its key word, or the match."""
    return match.start("k") if "k" in match.re.groupindex and match.group("k") is not None else match.start()


#: tokens that negate what follows them in a clause
NEGATORS_EN = frozenset(
    ["not", "no", "never", "neither", "nor", "without", "none", "nothing", "hardly", "barely", "scarcely",
     "lack", "lacks", "lacking", "absence", "fail", "fails", "failed"]
)  # fmt: skip

# -- framing -------------------------------------------------------------------------------

#: the answer says the model has no audio (read on the whole visible answer, first)
REFUSAL_EN = re.compile(
    r"\bas an? (?:\w+[- ]?){0,3}?(?:ai|a\.i\.|artificial intelligence|language model|llm|text[- ]based model|"
    r"vision[- ]language model|visual model|assistant)\b|"
    r"\bi am (?:just |only |merely )?an? (?:\w+[- ]?){0,3}?(?:ai|language model|llm|vision[- ]language model|"
    r"visual model|text[- ]based (?:ai|model|assistant))\b|"
    r"\bas an? (?:\w+ ){0,3}?model that (?:can )?(?:only|just) (?:sees?|processes|receives?|handles?|views?)\b|"
    r"\b(?:unable|not able|do not have the (?:ability|capability|capacity)|not (?:capable|equipped)|lack the ability|"
    r"no way for me|no way|no means|not possible for me) to (?:actually )?(?:\w+ or )?(?:process|access|listen to|analy[sz]e|perceive|interpret|play|"
    r"receive|handle|hear) (?:to )?(?:the |any |its |this |video |an )?(?:audio|sounds?\b(?! (?:in|of|from) (?:this|the))|"
    r"soundtrack|audio track|audio content)|"
    r"\b(?:can not|could not|do not|does not|am unable to) (?:actually )?(?:\w+ or )?(?:process|access|listen to|analy[sz]e|"
    r"perceive|interpret|play|receive|handle)(?: or \w+(?: to)?)? (?:to )?(?:the |any |its |this |video |an )?(?:audio|sounds?|"
    r"soundtrack|audio track|audio content|audio input)\b|"
    r"\b(?:can not|could not|unable to|not able to) (?:actually )?hear (?:audio|sounds)\b(?! (?:in|from|of) (?:this|the))|"
    # generic media: "I can't hear the audio of videos" is about the model, not this clip
    r"\b(?:can not|could not|unable to|not able to|am not able to) (?:\w+ or )?(?:hear|listen to|play)(?: or \w+(?: to)?)? "
    r"(?:the )?(?:audio|sound|sounds|soundtrack) (?:of|in|from) (?:any )?(?:videos|clips|files|media|video files)\b|"
    r"\b(?:only|just) (?:(?:able|allowed|permitted|designed) to )?(?:(?:have|has|had) access to|see|sees|view|"
    r"views|look at|looks at|analy[sz]e|analy[sz]es|process|processes|access|receive|receives|have|has|work with|"
    r"been given|given|handle|handles|includes?|contains?|get) (?:to )?(?:the |a |an |its |some )?"
    r"(?:\w+ ){0,2}?(?:visual|visuals|frames?|images?|stills?|pictures?|screenshots?)\b|"
    r"\b(?:process|processes|see|handle|receive|analy[sz]e) only (?:the )?(?:visual|frames|images|pictures)\b|"
    r"\b(?:audio|sound|soundtrack|audio track|audio input|audio stream|audio file|audio data)(?: \w+)? "
    r"(?:was|were|is|has been|have been|are) not (?:been )?(?:provided|given|shared|included in (?:my|the) input|"
    r"available to me|accessible to me|attached|supplied|supported|passed|sent)\b|"
    r"\bno (?:audio|sound)(?: \w+)? (?:was|were|has been|is|have been) (?:provided|given|shared|attached|supplied|"
    r"passed|sent|available to me)\b|"
    r"\b(?:i|we) (?:was|were|have|had) (?:not|never) (?:been )?(?:given|provided|sent|shared)(?: with)? "
    r"(?:the |any |an )?(?:audio|sound)|"
    r"\bi (?:do not|did not) (?:have|get|receive) (?:access to |any )?(?:the |any |an )?(?:audio|sound)"
    r"(?:s| track| input| stream| data| file| capabilit\w*| content)?\b|"
    r"\b(?:no|without) access to (?:the |any |its )?(?:audio|sound)|"
    r"\black(?:s|ing)? (?:the )?(?:audio|sound|hearing|auditory) (?:perception|capabilit\w+|input|abilit\w+)\b|"
    r"\baudio (?:input|inputs|processing|files?) (?:is|are) not supported\b"
)

#: a clause the answer does not commit to: its claims are dropped
HEDGE_EN = re.compile(
    r"\b(?:can not|could not|unable to|not able to|hard to|difficult to|impossible to|not possible to|no way to|"
    r"tough to|tricky to) (?:\w+ )?(?:tell|determine|say|judge|know|be (?:sure|certain)|confirm|verify|decide|"
    r"assess|distinguish|make out)\b|"
    r"\bnot (?:\S+ )?(?:sure|certain)\b|\bunclear\b|\buncertain\b|\bambiguous\b|\bdo not know\b|\bno idea\b|"
    r"\bhard to say\b|\bdifficult to say\b"
)
#: a clause that a later one corrects: "at first", "initially", "I thought", and concessive
#: clauses ("although it might look off, ...")
PROVISIONAL_EN = re.compile(
    r"\b(?:at first|initially|originally|first impression|at first glance|on first (?:listen|listening|glance)|"
    r"one might (?:think|expect)|you might (?:think|expect)|might expect|i (?:first |initially )?thought|"
    r"seemed at first|could be mistaken)\b|^(?:although|though|even though|even if)\b"
)
#: a tentative appearance ("it may look synchronized"): dropped when a contrast follows
APPEARANCE_EN = re.compile(r"\b(?:may|might|could|can) (?:\w+ )?(?:look|seem|appear|sound)\b")
#: alternatives offered without a choice: "either ... or", "maybe X, maybe Y"
ALTERNATIVE_EN = re.compile(r"\beither\b.*\bor\b|\bwhether\b")
TENTATIVE_START_EN = re.compile(r"^(?:maybe|perhaps|possibly)\b")
#: "rather than X", "instead of X": X is rejected (and, when X is not a timing word, the
#: heard sound is another than expected)
REJECT_EN = re.compile(rf"\b(?:rather than|instead of)\b(?! {_TIMING_WORD})")
REJECT_ANY_EN = re.compile(r"\b(?:rather than|instead of)\b")
#: "..., whereas the video shows ..." after a heard sound is named
SHOWN_EN = re.compile(r"^(?:but|whereas|while|yet) (?:the |what the )?(?:video|picture|footage|clip|image|visual|screen)s? (?:\w+ )?(?:shows?|depicts?|displays?|is showing|is of)\b")
#: a rejection clause after a named sound: "..., not a glass shattering"
NOT_THIS_EN = re.compile(r"^not (?:a|an|the|of|from)\b")

_LEADING = r"^\W*(?:(?:definitely|certainly|probably|most likely|likely|absolutely|surely|i think|i believe) )?"
#: a leading yes; a leading no must end its phrase ("No, ...", not "No delay")
YES_EN = re.compile(_LEADING + r"(?:yes|yeah|yep|yup|correct|true|indeed|affirmative)\b")
NO_EN = re.compile(
    _LEADING + r"(?:no|nope|nah|not really|false|incorrect|negative|(?:definitely|certainly|probably|absolutely) not)"
    # a bare "no" then a new sentence without its comma ("No the sound is early") is the
    # answer too, never "no ... sound" (silence)
    r"\b(?=\s*(?:[,.;:!)]|$)|\s+(?:the|this|that|it|its|there|i|we|you|they)\b)"
)
#: "so I'd say yes", "the answer is no" anywhere
SAY_YES_NO_EN = re.compile(r"\b(?:i would|i|we would) (?:say|answer|go with) (yes|no)\b|\bthe answer is (yes|no)\b")

# -- direction (English) -------------------------------------------------------------------

HEARD_BEFORE_SEEN = re.compile(
    r"\b(?:heard|hear) (?:\w+ ){0,4}?(?:before|earlier than|ahead of|prior to) (?:\w+ ){0,4}?"
    r"(?:seen|see|visible|shown|happens|occurs)\b"
)
SEEN_BEFORE_HEARD = re.compile(
    r"\b(?:seen|see|visible|shown) (?:\w+ ){0,4}?(?:before|earlier than|ahead of|prior to) (?:\w+ ){0,4}?"
    r"(?:heard|hear)\b"
)
FIRST = re.compile(
    r"\b(sound|audio|noise|video|visual|visuals|picture|image|action|impact)s? (?:\w+ ){0,2}?"
    r"(?:comes|come|arrives|arrive|happens|happen|plays|play|starts|start|occurs|occur|is heard|is seen) first\b"
)
PHRASES = (
    (re.compile(r"\b(?:earlier|sooner) than\b|\bprior to\b|\bin advance of\b|\bahead of\b"), "before"),
    (re.compile(r"\blater than\b"), "after"),
    (re.compile(r"\btoo (?:early|soon)\b"), "early"),
)
AUDIO_TOKENS = frozenset(
    ["sound", "sounds", "audio", "noise", "noises", "thud", "thuds", "bang", "crash", "clang", "thump", "boom",
     "soundtrack", "acoustic", "acoustics", "hear", "heard", "hears", "splash", "clap", "slam", "crack", "clack",
     "bounce", "knock", "pop", "snap", "crunch", "ring", "clatter"]
)  # fmt: skip
VISUAL_TOKENS = frozenset(
    ["video", "videos", "visual", "visuals", "picture", "pictures", "image", "images", "frame", "frames", "footage",
     "motion", "action", "movement", "impact", "collision", "contact", "hit", "fall", "landing", "event", "screen",
     "lips", "seen", "see", "shown", "visible", "lands", "land", "landed", "hits", "strikes", "struck", "touches",
     "touched", "collides", "reaches", "enters", "closes", "bursts"]
)  # fmt: skip
EARLY_TOKENS = frozenset(
    ["before", "ahead", "precedes", "precede", "preceding", "leads", "lead", "leading", "early", "premature",
     "prematurely", "anticipates", "predates"]
)  # fmt: skip
LATE_TOKENS = frozenset(
    ["after", "behind", "follows", "lags", "lag", "lagging", "trails", "trailing", "late", "delayed", "delay",
     "delays", "belated"]
)  # fmt: skip
#: relational words need something to relate to; these stand alone ("It's late.")
STANDALONE = frozenset(
    ["early", "late", "delayed", "delay", "delays", "premature", "prematurely", "belated", "lagging", "lags", "lag"]
)
PREPOSITIONS = frozenset(
    ["in", "of", "from", "on", "throughout", "within", "during", "across", "at", "into", "to", "with", "than", "for",
     "by", "between"]
)  # fmt: skip
DETERMINERS = frozenset(["the", "a", "an", "this", "that", "its", "his", "her", "their", "visual", "actual"])
