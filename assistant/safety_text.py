"""Safety layer, part 1: normalisation, so that the rules can be written once, in plain spelling.

`normalise` lower-cases a question, spells out contractions, chat slang and number words, and
corrects misspellings of drug and symptom words ("siezure" -> "seizure", "baclofin" -> "baclofen").
Only the words in `_FUZZY_TARGETS` are ever corrected to, and ordinary English words near them
(`_PROTECTED`) are left alone. The rules in `assistant.safety_patterns` match this normalised text.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from assistant.spelling import DeleteIndex, edit_distance

# ---------------------------------------------------------------------------------------------------
# 1. Normalisation: lower case, contractions and slang spelled out, number words as digits, and
#    misspellings of drug and symptom words corrected (edit distance <= 2), so that the rules
#    (assistant.safety_patterns) can be written once, in plain spelling.
# ---------------------------------------------------------------------------------------------------

_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)*|\d+(?:\.\d+)?")

# One token -> its plain spelling. Apostrophes are optional in chat ("cant", "hes").
_REWRITES: dict[str, str] = {
    **{k: "can not" for k in ("can't", "cant", "cannot", "carnt")},
    **{k: "will not" for k in ("won't", "wont")},
    **{k: "do not" for k in ("don't", "dont")},
    **{k: "does not" for k in ("doesn't", "doesnt")},
    **{k: "did not" for k in ("didn't", "didnt")},
    **{k: "is not" for k in ("isn't", "isnt", "ain't", "aint")},
    **{k: "are not" for k in ("aren't", "arent")},
    **{k: "was not" for k in ("wasn't", "wasnt")},
    **{k: "were not" for k in ("weren't", "werent")},
    **{k: "have not" for k in ("haven't", "havent")},
    **{k: "has not" for k in ("hasn't", "hasnt")},
    **{k: "had not" for k in ("hadn't", "hadnt")},
    **{k: "could not" for k in ("couldn't", "couldnt")},
    **{k: "should not" for k in ("shouldn't", "shouldnt")},
    **{k: "would not" for k in ("wouldn't", "wouldnt")},
    **{k: "i am" for k in ("i'm", "im", "iam")},
    **{k: "i have" for k in ("i've", "ive")},
    "i'll": "i will", "i'd": "i would",
    **{k: "he is" for k in ("he's", "hes")},
    **{k: "she is" for k in ("she's", "shes")},
    "it's": "it is", "its": "it is",
    **{k: "that is" for k in ("that's", "thats")},
    **{k: "what is" for k in ("what's", "whats", "wats", "wat's")},
    **{k: "there is" for k in ("there's", "theres")},
    "who's": "who is", "he'll": "he will", "she'll": "she will", "he'd": "he would", "she'd": "she would",
    **{k: "they will" for k in ("they'll", "theyll")},
    **{k: "they are" for k in ("they're", "theyre")},
    "we're": "we are", "we've": "we have",
    **{k: "you are" for k in ("you're", "youre")},
    "gonna": "going to", "wanna": "want to", "gotta": "got to", "tryna": "trying to",
    "u": "you", "ur": "your", "r": "are", "wat": "what",
    **{k: "please" for k in ("pls", "plz", "plez")},
    **{k: "because" for k in ("cos", "coz", "cuz", "bc", "bcos", "becuase", "becasue")},
    "rn": "right now", "tho": "though", "thru": "through", "alot": "a lot", "abt": "about",
    **{k: "something" for k in ("smth", "sth", "sumthing")},
    **{k: "thanks" for k in ("thx", "thanx", "ty", "tysm", "thnx")},
    "gf": "girlfriend", "bf": "boyfriend", "hubby": "husband", "bro": "brother", "sis": "sister",
    **{k: "hours" for k in ("hrs", "hr")}, "mins": "minutes", "wks": "weeks",
    "dr": "doctor", "doc": "doctor",
    # Overdose slang. "od" is never anything else in a question about a medicine.
    **{k: "overdose" for k in ("od", "o.d")},
    **{k: "overdosed" for k in ("od'd", "od'ed", "oded", "odd'd", "o.d'd")},
    # Self-harm slang: "kms" (kill myself) and "kys" (kill yourself) must be read as what they say.
    "kms": "kill myself", "kys": "kill yourself", "unalive": "kill", "unaliving": "killing",
    # Drug slang.
    "baclo": "baclofen", "bac": "baclofen",
    **{k: "xanax" for k in ("xannies", "xans", "xanny", "xannax", "zanax")},
    "percs": "percocet", "tabs": "tablets", "tab": "tablet", "mgs": "mg", "milligrams": "mg",
    "yo": "year old", "yr": "year", "yrs": "years", "mo": "month", "mos": "months",
}

_HAS_NOT_IS = re.compile(r"\b(he|she|it|that|there|who|what) is (been|got|had|gone|taken|swallowed)\b")

_AGE_UNITS = frozenset({"yo", "yr", "yrs", "mo", "mos"})

_NUMBER_WORDS = {
    "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8",
    "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "thirteen": "13", "fourteen": "14",
    "fifteen": "15", "sixteen": "16", "seventeen": "17", "eighteen": "18", "nineteen": "19",
    "twenty": "20", "thirty": "30", "forty": "40", "fifty": "50", "hundred": "100", "dozen": "12",
}

# Drug and symptom words whose misspellings are corrected. Only these are ever corrected to.
_FUZZY_TARGETS = frozenset(
    """
    baclofen lioresal gablofen ozobax lyvispah kemstro baclocur
    seizure seizures seizing convulsion convulsions convulsing
    breathe breath breathing breathless
    swelling swollen throat tongue unconscious unresponsive responding responsive
    hallucinating hallucinations hallucination hallucinate delirious confused confusion
    drowsy sleepy dizzy collapsed vomiting stiffness rigid fever temperature
    palpitations heartbeat
    overdose overdosed overdosing overdoses accidentally accidental accidently accident mistake swallowed
    pregnant pregnancy breastfeeding conceive trimester
    kidney kidneys dialysis
    children toddler daughter husband grandson granddaughter teenager
    alcohol alcoholism alcoholic drinking
    oxycodone oxycontin hydrocodone tramadol morphine codeine fentanyl methadone percocet
    xanax valium diazepam alprazolam clonazepam lorazepam klonopin ativan temazepam
    benzodiazepine benzodiazepines gabapentin pregabalin lyrica zolpidem zopiclone
    diphenhydramine benadryl promethazine cannabis marijuana
    suicide suicidal myself himself herself themselves yourself lethal purpose
    swallow swallows swallowing
    withdrawal withdrawals stopped stopping refill prescription intrathecal alarm beeping
    driving machinery forklift
    dosage missed forgot tablets tablet
    """.split()
)

# Ordinary English words within edit distance of a target: never "corrected" ("leisure" is not
# "seizure", "seeing" is not "seizing"). Found by running the corrector over a 20,000-word English
# vocabulary and keeping every word it would otherwise have changed.
_PROTECTED = frozenset(
    """
    accidents alarmed alarms allowed allowing amassed analysis ancient arising arriving bathing
    beaming bearing beating begging beijing bending beneath betting bleeding blinking brandon
    breach breached breadth breaking breasts breathed breaths breeding brewing bringing calcium
    ceiling chopped cocaine collapse collapses combine compulsion conceived conclusion
    conclusions concussion confessed confession confined confuse confusing conscious conserve
    consulting consumed conversion conversions craving creating creeping daughters delicious
    description disused diving dowager draining drawing drifting drilling dripping dropped
    dropping dwelling dwellings feeding feeling fewer flopped forever forget grayson grinding
    grinning hamlets heartbreak helping hissed hopping hostage hubbard husbands incident infused
    keeping kindness kissed latvian laughter leaping leisure lever limiting linking lyric
    lyrical lyrics machine machines mariana meeting messed methane misses mistaken mistakes
    mixtape needing never overcome overcoming peeking peeling peering pennant pissed popping
    postage preaching pricing printing propose propped proving purposely purposes ranking
    reaching reeling religious remnant response responsible ringing risking sailing scooped
    sealing searing seating seeking seeming selling sending sensing serving setting shallow
    shining shipped shipping shopping shrinking sidney sinking sipping skipped skipping slapped
    slapping slaughter sleep sleeper sleeping sleeps slicing sliding slipped slipping sloping
    smelling smiling snapped snapping spelling spilling stables stamped stealing stepped
    stepping sterling stillness stocked stomped storing stormed strapped striped stripped
    stripping subconscious suppose swapped swearing sweating sweeping swelled swirling table
    tables talents tallest tapping targets teenage teenagers telling temperate temperatures
    thinking threat threats thriving tipping toilets tongues topped topping toppled treating
    trieste vatican visiting weeping welding willing withdraw withdrawn wreath writing yelling
    """.split()
)


# Symmetric-delete index: a misspelling and its target share a deletion variant, so a lookup
# costs a few dozen dictionary probes instead of comparing against every target.
_DELETE_INDEX = DeleteIndex(_FUZZY_TARGETS, depth=2)


def _max_edits(token: str) -> int:
    # Short words have many real neighbours: "kidny" (5 letters) may differ by one edit,
    # "baclofn"/"siezure" (7+) by two.
    if len(token) < 5:
        return 0
    return 1 if len(token) <= 6 else 2


@lru_cache(maxsize=8192)
def correct_spelling(token: str) -> str:
    """The target word `token` is a misspelling of, or `token` unchanged."""
    max_edits = _max_edits(token)
    if not max_edits or token in _FUZZY_TARGETS or token in _PROTECTED or not token.isalpha():
        return token
    candidates = _DELETE_INDEX.candidates(token, max_edits)
    scored = sorted((edit_distance(token, c), abs(len(c) - len(token)), c) for c in candidates)
    if scored and scored[0][0] <= max_edits:
        return scored[0][2]
    return token


def normalise(text: str) -> str:
    """Lower-case words separated by single spaces, with slang expanded and misspellings corrected.

    >>> normalise("Hes having a siezure, cant breath!!")
    'he is having a seizure can not breath'
    """
    text = unicodedata.normalize("NFKC", text).lower()
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")
    text = re.sub(r"\bw/o\b", " without ", text)
    text = re.sub(r"\bw/", " with ", text)
    text = re.sub(r"\by/o\b|\by\.o\.", " year old ", text)
    text = re.sub(r"\b(\d+)\s*x\b|\bx\s*(\d+)\b", lambda m: f" {m.group(1) or m.group(2)} times ", text)
    text = text.replace("+", " and ").replace("&", " and ")
    words: list[str] = []
    for raw in _TOKEN.findall(text):
        raw = raw.strip("'")
        if raw == "hell" and words and words[-1] in ("says", "said", "thinks", "think", "swears", "that"):
            words += ["he", "will"]  # "my friend says hell take all his pills"
            continue
        if raw in _AGE_UNITS and not (words and words[-1].isdigit()):
            words.append(raw)  # "yo" is only "year old" after a number ("my 3yo"); else a greeting
            continue
        replacement = _REWRITES.get(raw) or _NUMBER_WORDS.get(raw)
        if replacement is None and raw.endswith("'s") and len(raw) > 3:
            replacement = raw[:-2]  # possessive: "husband's" -> "husband"
        for word in (replacement or raw).split():
            words.append(correct_spelling(word))
    # "he's been", "she's had": the "'s" there is "has".
    return _HAS_NOT_IS.sub(r"\1 has \2", " ".join(words))
