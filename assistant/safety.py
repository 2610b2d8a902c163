"""The safety layer: which notices a question needs, and every safety message the user sees.

- `SafetyMessages` is `safety.toml` (wording a clinician can edit) formatted with the configured
  phone numbers.
- `SafetyDetector.assess` runs named rules over a normalised, typo-corrected copy of the question
  and, when an embedder is given, compares the question with each category's example phrases.
  Similarity can add a category the rules missed, but never turns a question the rules read as
  informational ("what are the signs of ...", "can it cause ...") into an emergency.

Sections: 1. normalisation (slang, contractions, spelling), 2. vocabulary (regex fragments),
3. rules (one named pattern per situation, each with a comment saying why), 4. messages,
5. the detector. Display order and the urgent levels come from `assistant.records`.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from assistant.config import Settings
from assistant.embedding import Embedder
from assistant.errors import SettingsError
from assistant.records import LEVEL_ORDER, URGENT_LEVELS, Document, Notice

SAFETY_FILE = Path(__file__).with_name("safety.toml")

# Category ids, in display order within one level (a pump line before a general withdrawal line).
CATEGORIES = (
    "serious_reaction_now",
    "self_harm",
    "overdose",
    "child_ingestion",
    "pump",
    "withdrawal",
    "sedatives",
    "pregnancy",
    "children",
    "kidney",
    "driving",
    "dosing",
    "offlabel_alcohol",
    "overdose_info",
)

# ---------------------------------------------------------------------------------------------------
# 1. Normalisation: lower case, contractions and slang spelled out, number words as digits, and
#    misspellings of drug and symptom words corrected (edit distance <= 2), so that the rules below
#    can be written once, in plain spelling.
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


def _osa_distance(a: str, b: str) -> int:
    """Edit distance counting a swap of neighbours as one edit ("siezure" -> "seizure" is 1)."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


def _deletions(word: str, depth: int) -> set[str]:
    found = {word}
    frontier = {word}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1 :] for w in frontier for i in range(len(w))}
        found |= frontier
    return found


# Symmetric-delete index: a misspelling and its target share a deletion variant, so a lookup
# costs a few dozen dictionary probes instead of comparing against every target.
_DELETE_INDEX: dict[str, set[str]] = {}
for _target in _FUZZY_TARGETS:
    for _variant in _deletions(_target, 2):
        _DELETE_INDEX.setdefault(_variant, set()).add(_target)


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
    candidates: set[str] = set()
    for variant in _deletions(token, max_edits):
        candidates |= _DELETE_INDEX.get(variant, set())
    scored = sorted((_osa_distance(token, c), abs(len(c) - len(token)), c) for c in candidates)
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


# ---------------------------------------------------------------------------------------------------
# 2. Vocabulary: regex fragments over normalised text (lower-case words, single spaces).
# ---------------------------------------------------------------------------------------------------


DRUG_NAME = r"(?:baclofen|lioresal|gablofen|ozobax|lyvispah|kemstro|baclocur)"
MEDICINE = (
    rf"(?:{DRUG_NAME}|pills?|tablets?|meds|med|medications?|medicines?|doses?|dosage|capsules?"
    r"|muscle relax(?:ant|ants|er|ers)|prescription)"
)
_RELATIONS = (
    "husband|wife|partner|boyfriend|girlfriend|fiance|fiancee|spouse|son|daughter|child|kid|baby|toddler"
    "|infant|boy|girl|mum|mom|mother|mam|mommy|mummy|dad|father|daddy|brother|sister|friend|mate|buddy"
    "|grandma|grandmother|grandad|granddad|grandpa|grandfather|nan|nana|gran|granny|grandson"
    "|granddaughter|grandchild|uncle|aunt|auntie|cousin|nephew|niece|patient|client|resident|flatmate"
    "|roommate|housemate|neighbour|neighbor|colleague|teenager|teen|relative|parent|carer|pal|bestie"
)
# Who an event happens to: me, a named relation or a third person.
PERSON = (
    rf"(?:i|we|he|she|they|someone|somebody|(?:my|our|his|her|their|the|a) (?:\S+ )?(?:{_RELATIONS})"
    r"|(?:my|our|his|her|a|the) \d+ (?:year|month|week)s? old(?: \S+)?|mum|mom|dad|nan|nana|grandma|grandpa"
    r"|grandad|granny)"
)
# Children, for "a child swallowed it" (any age word will do: a 30-year-old son swallowing a pill
# still needs the poison centre).
CHILD = (
    r"(?:child|children|kid|kids|kiddo|toddler|toddlers|baby|babies|infant|infants|newborn|teen|teens"
    r"|teenager|teenagers|adolescent|preteen|youngster|little (?:boy|girl|one|ones)|son|daughter|grandson"
    r"|granddaughter|grandchild|grandkid|grandkids|nephew|niece|boy|girl|\d+ (?:year|month|week)s? old)"
)
# Children for the dosing caution: only words that mean under 18.
CHILD_UNDER_18 = (
    r"\b(?:child|children|childs|kid|kids|kiddo|toddlers?|bab(?:y|ies)|infants?|newborns?|teens?"
    r"|teenagers?|adolescents?|preteens?|minors?|youngsters?|p(?:a)?ediatric|little (?:boy|girl|one|ones)"
    r"|(?:[0-9]|1[0-7]) (?:year|month|week)s? old|(?:aged|age) (?:[0-9]|1[0-7])|under (?:18|1[0-6])"
    r"|(?:son|daughter|grandson|granddaughter|boy|girl) (?:is |aged )(?:[0-9]|1[0-7])\b"
    r"|(?:he|she) is (?:[0-9]|1[0-7])\b(?! (?:mg|kg|foot|feet|ft|stone|pounds|lbs|cm|minutes|hours|days|weeks"
    r"|months|times|tablets|pills)))\b"
)
PAST_INTAKE = r"(?:took|taken|swallowed|ate|eaten|had|popped|downed|necked|chewed|has taken|have taken)"
AT_LEAST_4 = r"(?:[4-9]|[1-9]\d+)"
AT_LEAST_2 = r"(?:[2-9]|[1-9]\d+)"

# Heavy sedation, the signs that turn "too much taken" or "mixed with alcohol" into an emergency.
SEDATION_DANGER = (
    r"\b(?:(?:very|really|so|super|extremely|too|incredibly|dangerously|heavily|way too) (?:drowsy|sleepy"
    r"|tired|sedated|out of it|groggy|woozy|dopey|spaced out|zonked)"
    r"|(?:can not|could not|cannot|unable to|struggling to|struggle to|hard to|hardly|barely|can barely"
    r"|can hardly) (?:stay awake|keep (?:my|his|her|their) eyes open|wake (?:him|her|them|me|up)|be woken"
    r"|breathe|breath|breathing)"
    r"|hard to wake|(?:will not|can not|could not|would not|did not|is not) wak(?:e|ing)"
    r"|(?:is|are|am|keeps?|keep) (?:falling asleep|nodding off|passing out|drifting off|zoning out)"
    r"|nodding off|passed out|passing out|blacked out|unconscious|unresponsive|not responding"
    r"|barely (?:awake|conscious|breathing)|(?:slow|slowed|shallow|weak|irregular) breathing"
    r"|breathing (?:is |seems |feels |has |got |really |very |so |too |gone |become |getting |looks |sounds )*"
    r"(?:slow|slowed|shallow|weird|funny|strange|laboured|labored|weak|noisy|rattly)"
    r"|not breathing|stopped breathing|seizures?|seizing|fitting|convulsions?|convulsing|having a fit"
    r"|(?:lips?|face|skin) (?:is |are |look |looks |turning |gone |going |went |turned )*(?:blue|grey|gray)"
    r"|floppy|limp|coma|out of it|slurring|slurred)\b"
)
# After a too-much-taken event the two-tier poison rule says: any sleepiness means the emergency number.
OVERDOSE_DANGER = rf"{SEDATION_DANGER}|\b(?:sleepy|drowsy|tired|groggy|woozy|dizzy and sleepy|vomiting)\b"

# Withdrawal (after stopping, running out, or a pump failure): the signs the labels name.
WITHDRAWAL_DANGER = (
    r"\b(?:fever|feverish|high temperature|a temperature|burning up|boiling hot|hot and sweaty"
    r"|sweating (?:a lot|buckets|loads)|confused(?! about| by| why| as| whether| if| what| how| with| on)"
    r"|confusion|delirious|disoriented|disorientated|not making sense|hallucinat\w*|seeing things"
    r"|hearing (?:things|voices)|seeing (?:\S+ ){0,2}(?:bugs|spiders|people|stuff|shadows|animals|insects)"
    r"|going crazy|losing (?:my|his|her|their) mind|paranoid|seizures?|seizing|fitting|convuls\w+"
    r"|having (?:a )?fits?|(?:severe|severely|really bad|extreme|extremely|terrible|terribly|awful|awfully"
    r"|so|very|really|super|incredibly|unbearably) (?:stiff|stiffness|rigid|tight|spasms?|spasming|cramps?"
    r"|cramping|spastic)|rock hard|rock solid|can not (?:move|bend|walk)|rigid|locked up|seized up"
    r"|shaking|tremors?|racing heart|heart (?:is )?racing|itching all over|agitated"
    r"|temp(?:erature)? (?:of |is |at )?(?:3[89]|4[0-2]|10[0-9])"
    r"|(?:spasms|stiffness|cramps) (?:are |is )?(?:so |very"
    r" |really )?(?:severe|unbearable|terrible|awful|horrendous|extreme))\b"
)

# An information question: asks what the text says, what the signs are, or whether something can
# happen. Such a question with no person-and-present-tense event (LIVE) is never an emergency on
# similarity alone, and bare symptom words in it do not count as events.
INFORMATION_FRAME = re.compile(
    r"\bwhat (?:does|do|did|will) (?:it|the (?:article|document|documents|text|page|source|leaflet)|this"
    r"|they|you) (?:say|mention|tell|have|list)"
    r"|\b(?:does|do|did|is there) (?:it|the (?:article|document|documents|text|page|source|leaflet)|this|they"
    r"|anything) (?:\S+ )?(?:say|says|mention|mentions|talk|list|cover|covers|written|in it)(?: anything)?"
    r" (?:about|on|regarding)\b|\b(?:is|are) there anything (?:about|on|regarding)\b"
    r"|\b(?:in|from|by) the (?:article|document|documents|text|leaflet|source)\b"
    r"|\bwhat (?:are|is|were) (?:the )?(?:\S+ )?(?:signs?|symptoms?|side effects?|risks?|effects?|chances?"
    r"|dangers?|odds)\b"
    r"|\b(?:signs?|symptoms?|risks?|chances?|dangers?) (?:of|for)\b"
    r"|\b(?:can|could|does|do|did|will|would|might|may) (?:\S+ ){1,3}(?:cause|causes|make|makes|give|gives"
    r"|lead to|trigger|result in|bring on|produce|induce|affect)\b"
    r"|\b(?:is|are) (?:\S+ ){0,3}(?:a |an )?(?:common |known |possible |rare |serious |normal |usual )?"
    r"(?:side effects?|symptoms?|signs?|reactions?)\b"
    r"|\bside effects?\b|\bhow (?:common|likely|rare|often do|often does|dangerous|serious|bad)\b"
    r"|\bwhat happens (?:if|when)\b|\bwhat (?:should|do|would|can|to) (?:\S+ ){0,2}do (?:if|when|in case)\b"
    r"|\bwhat to do (?:if|when)\b|\bwhat if\b|\bin case\b|\b(?:is|are) there (?:a |any )?(?:risks?|chance|danger)"
    r"|\btell me (?:about|more)\b|\b(?:should i|do i need to) (?:worry|be worried|be concerned)\b"
    r"|\bwhen (?:should|do|to) (?:i |you |we )?(?:call|go|seek|get|see)\b|\bwarning signs?\b|\bexplain\b"
    r"|\bwhat (?:is|are) (?:a |an |the )?(?:\S+ )?(?:overdose|withdrawal|toxicity|seizures?|hallucinations?)\b"
    r"|\b(?:is|are) (?:it|that|this|baclofen|they|these|muscle relaxants) (?:\S+ )?(?:normal|common|ok|okay"
    r"|safe|bad|dangerous|serious|usual|expected|harmful|deadly|risky|addictive|strong|toxic|fatal|lethal)\b"
    r"|\b(?:are there|have there been) (?:any )?(?:deaths|cases|reports)\b"
    r"|\bif (?:i|you|he|she|they|someone|somebody|anyone|a person|people|my|your|a|the)\b"
)
# A person and a present-tense (or just-now) event: "he is", "my throat is", "i can't", "now".
LIVE = re.compile(
    r"\b(?:right now|now|currently|at the moment|suddenly|still|keeps|keep \S+ing|anymore|any more)\b"
    rf"|\b(?:i|we|he|she|they|{PERSON}) (?:am|is|are|have|has|feel|feels|keep|keeps|can not|could not"
    r"|will not|got|just|already|seem|seems|look|looks|get|gets|started|start|do not|does not|is not"
    r"|are not|am not|can barely|can hardly)\b"
    r"|\bmy (?:\S+ ){0,2}(?:is|are|has|have|keeps?|feels?|looks?|seems?|will not|can not|started)\b"
)
# Someone an emergency could be happening to: the writer, or a named or third person.
PERSON_WORD = re.compile(rf"\b(?:i|me|my|we|us|our|he|him|his|she|her|they|them|their|{_RELATIONS})\b")
# Words that put an event in a hypothetical ("what if he has a seizure").
HYPOTHETICAL_BEFORE = re.compile(
    r"\b(?:if|whether|suppose|supposing|case|imagine|hypothetically)\b(?:\s\S+){0,6}\s?$"
)
# A modal right before a subject makes a question, not an event ("can i overdose on it?").
MODAL_BEFORE = re.compile(r"\b(?:can|could|would|might|may|will|should|shall|must|do|does|to)\s$")
# Long-past events are history, not emergencies ("he had a seizure years ago").
DISTANT_PAST = re.compile(
    r"\b(?:years? ago|months? ago|last (?:year|month)|as a (?:child|kid|baby|teenager)|in the past"
    r"|history of|used to|once before|a long time ago|when (?:i|he|she) was (?:younger|little|a child|a kid))\b"
)
# Habits, not events happening now ("my heart races sometimes").
HABITUAL = re.compile(
    r"\b(?:sometimes|occasionally|often|at times|every now and then|now and again|from time to time"
    r"|every so often|usually|every time|each time|whenever)\b"
)
# Reasons that make "took it early/late by mistake" a timing question, not an overdose.
BENIGN_TIMING = re.compile(
    r"\b(?:late|early|too soon|wrong time|empty stomach|without food|with food|before food|after food)\b"
)


# ---------------------------------------------------------------------------------------------------
# 3. Rules: one named pattern per situation. `when` says how much context a match needs:
#    "always"    - the words themselves describe an event or a clear request ("i took 10 baclofen");
#    "statement" - a symptom phrase that counts unless the question is informational ("throat swelling");
#    "live"      - a bare symptom word that counts only with a person and present tense ("seizure now").
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Rule:
    name: str
    category: str
    pattern: re.Pattern[str]
    when: str = "always"
    skip_hypothetical: bool = True  # "what if he ...", "in case she ..."
    skip_after_modal: bool = False  # "can i overdose ...", "will he have a seizure ..."
    skip_distant_past: bool = False  # "... years ago"
    skip_habitual: bool = False  # "... sometimes"
    needs_drug_context: bool = False  # only when the question or an earlier one names the medicine
    unless: re.Pattern[str] | None = None  # the rule does not apply when this matches anywhere


def _rule(name: str, category: str, pattern: str, **options: Any) -> _Rule:
    return _Rule(name, category, re.compile(pattern), **options)


_SERIOUS = dict(skip_distant_past=True, skip_habitual=True)

RULES: tuple[_Rule, ...] = (
    # --- Serious reaction happening now (RED) ------------------------------------------------------
    # A named person having a fit: the subject plus a progressive or just-past verb is the event.
    _rule("seizure_happening", "serious_reaction_now",
          rf"\b{PERSON} (?:is |are |am |was )?(?:still |just )?(?:having|had|has had|has just had|keeps having"
          r"|keep having|started having|been having) (?:a |another |some |multiple |more |\d+ )?"
          r"(?:seizures?|fits?|convulsions?)\b", skip_after_modal=True, **_SERIOUS),
    _rule("seizing_now", "serious_reaction_now",
          rf"\b{PERSON} (?:is |are |am |keeps |keep |started |has been |have been |been |just )?(?:still )?"
          r"(?:seizing|convulsing|fitting(?! in| into| the| a )|jerking all over|shaking and jerking"
          r"|jerking and shaking|shaking all over|shaking uncontrollably|twitching all over)\b", **_SERIOUS),
    # Someone else jerking now (a first-person "i keep jerking at night" is usually benign twitching).
    _rule("jerking_other", "serious_reaction_now",
          r"\b(?:he|she|they|(?:my|our|his|her) (?:\S+ )?(?:" + _RELATIONS + r")|mum|mom|dad) (?:is |are )"
          r"(?:\S+ )?(?:jerking|shaking violently|thrashing)\b", **_SERIOUS),
    _rule("seizure_signs", "serious_reaction_now",
          r"\bfoaming at the mouth\b|\beyes (?:rolled|rolling) back\b|\b(?:shaking|jerking) (?:and|while)"
          r" (?:not responding|unconscious|unresponsive)\b", when="statement", **_SERIOUS),
    # A bare seizure word counts only with "now", "again", "still", "keeps" ("siezure now!!").
    _rule("seizure_word_now", "serious_reaction_now",
          r"\b(?:seizures?|seizing|convulsing|convulsions?|fits?)(?: \S+){0,3} (?:now|right now|again|still"
          r"|will not stop|keeps? going)\b|\b(?:now|right now|just|again|still) (?:\S+ ){0,3}(?:seizing"
          r"|convulsing|having (?:a )?(?:seizures?|fits?|convulsions?))\b", when="statement", **_SERIOUS),
    # Breathing: "i can't breathe", "he is not breathing", "struggling to breathe".
    _rule("breathing_person", "serious_reaction_now",
          rf"\b{PERSON} (?:is |are |am |was )?(?:can not|cannot|could not|can barely|can hardly|could barely"
          r"|unable to|struggling to|struggles to|struggle to|having (?:trouble|difficulty|a hard time"
          r"|problems)|finding it hard to|not|barely|hardly|stopped|has stopped|keeps stopping) (?:to )?"
          r"(?:breathe|breath|breathing|get (?:my|his|her|their|a) breath|catch (?:my|his|her|their) breath)\b",
          **_SERIOUS),
    _rule("breathing_statement", "serious_reaction_now",
          r"\b(?:can not|cannot|could not|can barely|can hardly|unable to|struggling to|hard to|trouble"
          r"|difficulty|difficult to|problems?) (?:breathe|breath|breathing)\b|\b(?:gasping|choking)\b"
          r"|\b(?:short of breath|out of breath|breathless)\b|\b(?:can not|could not|cannot|struggling to) get"
          r" (?:any |enough )?(?:air|breath|oxygen)\b|\bairway (?:\S+ ){0,2}(?:blocked|closing|tight|swelling)\b"
          r"|\bbreathing (?:is |feels |seems |really |very |so |too )*(?:slow|shallow|weird|weirdly|funny|strange"
          r"|laboured|labored|noisy|rattly|difficult|hard)\b|\b(?:slow|shallow) breathing\b",
          when="statement", **_SERIOUS),
    # Swelling of the throat, tongue, lips or face: an allergic reaction that can block the airway.
    _rule("swelling_person", "serious_reaction_now",
          r"\b(?:my|his|her|their|your) (?:\S+ )?(?:throat|tongue|lips?|face|mouth|eyes?|neck)"
          r"(?: and (?:my |his |her )?\S+)? (?:\S+ ){0,4}(?:swelling|swollen|swell|swelled|swells|puffing up"
          r"|puffed up|puffy|closing|tight|tightening|thick)\b", **_SERIOUS),
    _rule("swelling_statement", "serious_reaction_now",
          r"\b(?:throat|tongue|lips?|face|mouth) (?:\S+ ){0,2}(?:swelling|swollen|swell|closing up|closing"
          r"|tightening)\b|\b(?:swelling|swollen) (?:\S+ ){0,2}(?:throat|tongue|lips?|face|mouth)\b"
          r"|\banaphyla\w+\b", when="statement", **_SERIOUS),
    # Confusion or seeing things in someone else (a first-person "i'm confused" is usually about a text).
    _rule("confusion_person", "serious_reaction_now",
          r"\b(?:he|she|they|(?:my|our|his|her) (?:\S+ )?(?:" + _RELATIONS + r")|mum|mom|dad|nan|grandma"
          r"|grandpa|grandad|granny) (?:is |are |seems |keeps |has been |have been |getting |gone |become "
          r"|went |really |very |so |totally |completely |suddenly |acting |being )+(?:confused|delirious"
          r"|disoriented|disorientated|not making sense|out of it|talking nonsense|not (?:himself|herself"
          r"|themselves))\b(?! about| by| why| as to| whether| if| what| how| with| on| over)", **_SERIOUS),
    _rule("hallucinating_person", "serious_reaction_now",
          rf"\b{PERSON} (?:is |are |am |keeps |keep |started |has been |have been |been |seems |just )?"
          r"(?:\S+ )?(?:hallucinating|seeing things|hearing things|hearing voices|seeing (?:\S+ ){0,3}"
          r"(?:that|who|which) (?:are|is) not there|seeing (?:bugs|spiders|people|stuff|shadows|animals"
          r"|insects|faces|snakes)|talking to (?:\S+ ){0,3}(?:not there|nobody|no one|invisible))\b", **_SERIOUS),
    _rule("hallucinating_statement", "serious_reaction_now",
          r"\b(?:hallucinating|seeing things|hearing things|hearing voices|seeing bugs|not making (?:any )?sense"
          r"|delirious|disoriented|talking to (?:\S+ ){0,3}(?:not there|nobody|no one))\b"
          r"|\bconfused and (?:\S+ ){0,2}(?:seeing|hearing|hallucinating|agitated)\b"
          r"|\b(?:talking|speaking) (?:gibberish|nonsense|rubbish)\b|\bslurring (?:his|her|their|my) words\b"
          r"|\b(?:does not|did not|can not|could not) (?:know|recogni[sz]e) (?:where|who|me|us|anyone|his|her)\b",
          when="statement",
          **_SERIOUS),
    # Heart racing, pounding or irregular now, or chest pain.
    _rule("heart_person", "serious_reaction_now",
          r"\b(?:my|his|her|their) (?:heart|pulse|heartbeat|heart rate) (?:\S+ ){0,3}(?:racing|pounding"
          r"|thumping|fluttering|skipping|irregular|all over the place|beating (?:\S+ ){0,2}(?:fast|hard|weird"
          r"|funny|irregular|strangely|wildly|crazy)|going (?:crazy|mad|fast|wild)|very fast|really fast"
          r"|so fast|jumping)\b", **_SERIOUS),
    _rule("heart_statement", "serious_reaction_now",
          r"\b(?:heart|pulse|heartbeat) (?:is |keeps |feels )?(?:racing|pounding|thumping|fluttering|skipping"
          r"|irregular|going (?:like )?(?:crazy|mad|wild))\b"
          r"|\b(?:racing|pounding|irregular) (?:heart|heartbeat|pulse)\b"
          r"|\bchest (?:pain|pains|is tight|tightness|hurts|feels tight)\b", when="statement", **_SERIOUS),
    _rule("palpitations_now", "serious_reaction_now", r"\bpalpitations\b", when="live", **_SERIOUS),
    # Can't be woken, collapsed, unconscious, turning blue.
    _rule("unresponsive", "serious_reaction_now",
          r"\b(?:will not|would not|can not|could not|did not|does not|is not|are not|not) (?:wake|waking"
          r"|woke|waken|be woken|be roused|respond|responding|responsive|come round|come to)\b"
          r"|\b(?:can not|could not|cannot|unable to) (?:wake|rouse) (?:him|her|them|my|up)\b"
          r"|\bgone (?:floppy|limp)\b"
          r"|\b(?:will not|would not|is not|not) (?:answer|answering|talk|talking) (?:to )?(?:me|us|anyone)?"
          r"(?=.*\b(?:floppy|limp|gone|out|asleep|eyes|wake|breathing)\b)"
          r"|\b(?:unresponsive|unconscious|unrousable|collapsed|passed out|blacked out|fainted|keeled over"
          r"|gone (?:floppy|limp))\b"
          r"|\b(?:lips?|face|skin|fingers) (?:\S+ ){0,2}(?:blue|grey|gray)\b"
          r"|\b(?:turning|turned|gone|going|went|looks|looking) (?:\S+ )?(?:blue|grey|gray)\b",
          when="statement", **_SERIOUS),
    # --- Too much taken (POISON) -----------------------------------------------------------------
    # Double doses: "double dosed", "took my dose twice", "took it 3 times today" (not "3 times a day").
    _rule("double_dose", "overdose",
          r"\bdouble (?:dosed|dosing)\b|\bdoubled up\b|\b(?:took|taken|had|given|gave(?: \S+)?) "
          r"(?:a |my |his |her |their )?double (?:dose|dosage|the dose)\b"
          r"|\b(?:took|taken|had|given|gave) (?:\S+ )?double (?:my|his|her|their|the) (?:\S+ )?(?:dose|dosage)\b",
          when="statement"),
    _rule("dose_twice", "overdose",
          r"\b(?:took|taken|had|swallowed|given|gave) (?:\S+ ){0,4}?(?:twice|\d+ times|a second time"
          r"|an extra|extra|one too many|more than (?:i|he|she|they|we|you) (?:should|was|were|am|is|are))\b"
          r"(?! (?:a|per|each|every|daily|weekly|over)\b)"),
    _rule("again_by_mistake", "overdose",
          r"^(?=.*\b(?:mistake|accident\w*|forgot|forgotten|already|oops|instead)\b).*?\b(?:took|taken|had"
          r"|swallowed|given|gave) (?:\S+ ){0,4}?(?:again|another)\b"
          r"|\b(?:forgot|forgotten) (?:\S+ ){0,5}(?:already|had) (?:taken|had|took) (?:\S+ ){0,3}"
          r"(?:took|taken|had)\b"),
    # Many pills at once: four or more counted ("i took like 6 baclofens", "swallowed 8 of his tablets").
    _rule("many_pills", "overdose",
          rf"\b{PAST_INTAKE} (?:like |about |around |maybe |at least |nearly |almost |over |roughly |probably "
          rf"|approx |approximately |up to |more than |a good )?{AT_LEAST_4} (?:\S+ ){{0,3}}?(?:of (?:them|those"
          rf"|these|it|my|his|her|their|the)\b|{MEDICINE}\b)"),
    # "he took 5" after "my dad takes baclofen": the count is read as pills only when the medicine
    # is named in this or an earlier question.
    _rule("many_bare", "overdose",
          rf"\b{PAST_INTAKE} (?:like |about |around |maybe |at least |nearly |almost |over )?{AT_LEAST_4}"
          r"(?: (?:at once|in one go|together|all at once|instead|by mistake|by accident|on purpose|today"
          r"|tonight|last night|this morning|yesterday|earlier|just now|now|an hour ago|and|but|so|help|what"
          r"|is|am|are|i|he|she))?$", needs_drug_context=True),
    _rule("fewer_instead", "overdose", rf"\b{AT_LEAST_2} (?:\S+ ){{0,3}}instead of (?:1|one|2|the)\b"),
    # Too many, the whole pack, all of them.
    _rule("too_many", "overdose",
          r"\b(?:took|taken|swallowed|popped|downed|necked|given|gave|had|ate|eaten) (?:\S+ ){0,3}?(?:too many"
          r"|to many|way too many|(?:the|a|my|his|her|their) whole (?:\S+ )?(?:bottle|pack|packet|box|strip"
          r"|blister|lot|thing|prescription|supply)"
          r"|a whole (?:bottle|pack|packet|box|strip|blister)|all (?:of )?(?:my|his|her|their|the) (?:\S+ )?"
          r"(?:pills|tablets|meds|medication|medicine|baclofen|doses)|them all|all of them|a handful"
          r"|handfuls|heaps|tons|lots of (?:them|it|my|his|her)|a fistful|(?:\S+ )?doses all at once|the evening"
          r" ones too|the lot|the rest of (?:my|his|her|the) (?:\S+ )?(?:pills|tablets|baclofen|meds)"
          r"|(?:a bunch|loads|lots|a lot|a load|a pile|a heap|several|a fistful|a stack) (?:of )?(?:\S+ )?"
          rf"{MEDICINE}"
          r"|more (?:\S+ ){0,2}than (?:i|he|she|they|we|you) (?:should|was|were|am|is|are|meant|supposed)"
          r"|more than (?:\S+ ){0,3}(?:told|prescribed|usual|normal|allowed|recommended|directed)"
          r"|more than (?:prescribed|(?:my|his|her|the) (?:prescribed )?dose))\b"),
    _rule("too_much_medicine", "overdose",
          rf"\b(?:took|taken|swallowed|popped|given|gave|had) (?:\S+ ){{0,2}}?(?:way )?(?:too much|to much)"
          rf" (?:\S+ ){{0,2}}?(?:{MEDICINE}|of (?:it|them|my|his|her))\b"),
    _rule("too_much_bare", "overdose",
          r"\b(?:took|taken|swallowed|popped|given|gave) (?:\S+ ){0,2}?(?:way )?(?:too much|to much)\b"
          r"(?! (?:to drink|alcohol|wine|beer|booze|coffee|caffeine|food|sugar|water))",
          needs_drug_context=True),
    # Someone says they overdosed ("i think i overdosed", "my gf od on her baclofen").
    _rule("overdosed", "overdose",
          rf"\b{PERSON} (?:(?!will|would|could|might|may|can|to|not|never|going|gonna)\S+ ){{0,3}}?"
          r"(?:overdosed|overdose|overdosing)\b(?! (?:symptoms?|signs?|risk|info|information)\b)"
          r"|\b(?:took|taken|had) (?:an|a) overdose\b|^overdosed\b", skip_after_modal=True),
    # By mistake: "accidentally took my husband's baclofen" (not "took it an hour late by mistake").
    _rule("by_mistake", "overdose",
          r"\b(?:accidentally|accidently|accidentaly|accidental|mistakenly|by mistake|by accident|in error)"
          r" (?:\S+ ){0,6}?"
          r"(?:took|taken|swallowed|ate|eaten|gave|given|doubled|double)\b"
          r"|\b(?:took|taken|swallowed|ate|eaten|gave|given) (?:\S+ ){0,8}?(?:by mistake|by accident"
          r"|accidentally|accidently|mistakenly|in error)\b", unless=BENIGN_TIMING),
    # Someone else took my pills ("my husband took one of my baclofen").
    _rule("someone_elses_pills", "overdose",
          r"\b(?:he|she|they|(?:my|our) (?:\S+ )?(?:" + _RELATIONS + r")) (?:\S+ )?(?:took|swallowed|ate|had)"
          rf" (?:one|1|some|a few|a couple|\d+) (?:of )?my (?:\S+ )?{MEDICINE}\b"),
    # --- A child swallowed medicine (POISON) --------------------------------------------------------
    _rule("child_swallowed", "child_ingestion",
          rf"\b{CHILD} (?:\S+ ){{0,6}}?(?:ate|eaten|swallowed|chewed|chewing|chomped|bit|bitten|munched|nibbled"
          r"|mouthed|got into|got hold of|got (?:his"
          r"|her|their) hands on|licked|sucked on|grabbed|has had|may have had|might have had) (?:\S+ ){0,4}?"
          rf"(?:{MEDICINE}|one|some|a few|it|them|any|bottle|pack|packet|\d+)\b"),
    # Any swallowing by a child once medicine is in the conversation ("ate the monday ones").
    _rule("child_swallowed_any", "child_ingestion",
          rf"\b{CHILD} (?:\S+ ){{0,12}}?(?:ate|eaten|swallowed|chewed|chomped|bit|bitten|munched|nibbled|mouthed"
          r"|licked|sucked on|has had|may have had"
          rf"|might have had|got into|got hold of|got (?:my|the|his|her|some) (?:\S+ )?{MEDICINE})\b",
          needs_drug_context=True),
    _rule("child_opened_pack", "child_ingestion",
          rf"\b{CHILD} (?:\S+ ){{0,8}}?(?:{MEDICINE}|bottle|pack|packet|box|organi[sz]er|blister|cabinet|bag)"
          r" (?:\S+ ){0,4}?(?:open|opened|lid off|missing|gone|empty|chewed|torn)\b"
          rf"|^(?=.*\b{CHILD}\b)(?=.*\b{MEDICINE} (?:are |is )?(?:missing|gone)\b)"),
    _rule("child_took_some", "child_ingestion",
          rf"\b{CHILD} (?:\S+ ){{0,4}}?(?:took|taken|had) (?:some|a few|a couple|one|\d+|several) (?:of )?"
          r"(?:\S+ )?"
          rf"{MEDICINE}\b(?!.*\bas (?:prescribed|directed)\b)"),
    _rule("child_took_others", "child_ingestion",
          rf"\b{CHILD} (?:\S+ ){{0,4}}?(?:took|taken|had) (?:one|some|a few|a couple|\d+|a|an) (?:of )?"
          rf"(?:my|mummy|mommy|mum|mom|dad|daddy|grandma|granny|nan|grandad|grandpa|your|someone|the|her|his)"
          rf" (?:\S+ ){{0,2}}{MEDICINE}\b"),
    _rule("child_found_with", "child_ingestion",
          rf"\bfound (?:my|our|the|a) (?:\S+ )?{CHILD} (?:\S+ ){{0,3}}(?:with|eating|chewing|holding|playing"
          rf" with|sucking) (?:\S+ ){{0,5}}(?:{MEDICINE}|bottle|pack|packet)\b"),
    _rule("child_mouth", "child_ingestion",
          rf"\b{CHILD} (?:\S+ ){{0,4}}put (?:\S+ ){{0,4}}(?:in|into) (?:his|her|their) mouth\b"),
    # --- Self-harm and suicidal thoughts (CRISIS) ---------------------------------------------------
    # Never guarded as hypothetical: "what if i want to die" still gets the crisis line.
    _rule("suicide_words", "self_harm",
          r"\b(?:suicide|suicidal|self harm|self harming|selfharm|self injury|kill (?:myself|himself|herself"
          r"|themselves|yourself|ourselves)|killing (?:myself|himself|herself|themselves)|(?:end|ending|take"
          r"|taking) (?:my|his|her|their) (?:own )?(?:life|lives)|unalive\w*|(?:hurt|hurting|harm|harming|cut"
          r"|cutting) (?:myself|himself|herself|themselves))\b", skip_hypothetical=False),
    _rule("wants_to_die", "self_harm",
          r"\b(?:want|wants|wanted|wanting|wish|wishes|going|ready|deserve|deserves|planning|plan|plans|try"
          r"|trying|tried|rather) to (?:die|be dead|not be here|not exist|disappear forever|end it|end it all"
          r"|end everything|sleep forever|not wake up|never wake up|give up on life|be gone)\b"
          r"|\b(?:better off dead|better off without me|better without me|no (?:reason|point) (?:to|in) (?:live"
          r"|living|going on|being alive|carry on|carrying on)|(?:do not|not|never) want to (?:live|be alive|be"
          r" here|exist|go on|wake up|carry on)|(?:can not|could not) (?:go on|carry on|do this anymore|take"
          r" (?:it|this) anymore|cope anymore|live like this)|wish (?:i|he|she) (?:was|were) (?:dead|gone|never"
          r" born)|end it all|ending it all|(?:end|ending) it (?:with|tonight|now|today)|end it$"
          r"|(?:sleep|go to sleep) and (?:never|not) wake up|(?:nobody|no one) (?:would|will) (?:care|miss me"
          r"|notice)|(?:do not|can not|could not) see (?:the |any )?point (?:in|of) (?:living|life|going on"
          r"|anything|being here)|what is the point (?:of|in) (?:living|life|going on|being alive)|(?:life is"
          r"|it is) not worth (?:living|it anymore)|not worth living|feel (?:so |completely |totally )?hopeless"
          r"|no way out|(?:nobody|no one) (?:cares|would care|will care) (?:whether|if) i (?:live|die|am alive)"
          r"|life (?:feels|is|seems) (?:so )?(?:pointless|meaningless|worthless)"
          r"|disappear(?:ing)? (?:forever|for good)"
          r"|(?:goodbye|suicide) (?:letters?|notes?)|tired of (?:living|being alive|life)|(?:i am|being) a burden"
          r"|lost (?:the|my|all) (?:will|reason) to (?:live|go on)|(?:i am|i feel) done with (?:everything|it all"
          r"|life)|want (?:it|this|everything) (?:all )?to stop|(?:rather|like to|love to) (?:be dead|not be alive"
          r"|not be here|not exist|die)|can not keep going|giving up on (?:everything|life)|end (?:my|the)"
          r" suffering|(?:better|happier|easier) (?:off )?(?:if|when) i (?:was|were|am) (?:gone|dead|not here)"
          r"|nothing left (?:for me|to live for)|end things|(?:stay asleep|sleep|go to sleep) (?:forever|for ever)"
          r"|never wake up again|(?:do not|no longer|not) want to (?:be around|exist)|want out of (?:this|my) life"
          r"|(?:something|anything) stupid with (?:my|the|his|her) (?:pills|tablets|meds|medication)"
          r"|want to not be (?:alive|here)|(?:prefer|rather) to die|thoughts (?:of|about) (?:dying|death|ending)"
          r"|dark thoughts|stop living"
          r"|(?:everyone|everybody) (?:would|will) be better off|want (?:it|this|everything) (?:all )?"
          r"to (?:be over|end))\b", skip_hypothetical=False),
    # Asking for a lethal amount: no dose or toxicity information may follow (WHO/IASP).
    _rule("lethal_amount", "self_harm",
          r"\b(?:lethal|fatal|deadly|killing) (?:dose|doses|dosage|amount|amounts|quantity|level|number)\b"
          r"|\bhow (?:many|much) (?:\S+ ){0,6}?(?:to die|would kill|will kill|could kill|to kill|kill (?:me"
          r"|myself|someone|a person|somebody|him|her|them)|be fatal|be lethal|be deadly|is fatal|is lethal"
          r"|is deadly|are fatal|are lethal|to overdose|to od|to not wake up|to never wake up)\b"
          r"|\b(?:would|does|did|will) it take (?:\S+ ){0,3}(?:to )?(?:die|kill|not wake|overdose|end)\b"
          r"|\b(?:what|which) (?:dose|amount) (?:\S+ ){0,3}(?:kill|fatal|lethal|deadly|die)\b"
          r"|\b(?:can|could|would|will) (?:\S+ ){0,3}kill (?:me|myself)\b"
          r"|\bbefore (?:it|they|that|this) (?:kills?|would kill|is fatal|is lethal)\b"
          r"|\b(?:whole|entire) (?:\S+ )?(?:bottle|pack|packet|box|prescription|supply)\b.*\b(?:would|will|could"
          r"|to) (?:i |he |she |you |someone )?(?:die|be dead|kill)\b", skip_hypothetical=False),
    # Intent to take everything at once, said by anyone ("my friend says he'll take all his pills").
    _rule("intent_take_all", "self_harm",
          r"\b(?:going to|will|want to|wants to|thinking about|thinking of|think about|plan to|planning to"
          r"|plans to|about to|might|tempted to|considering|ready to) (?:\S+ ){0,2}(?:take|taking|swallow"
          r"|swallowing|down|downing|overdose|overdosing|neck) (?:\S+ ){0,2}?(?:all|every|the whole|a whole"
          r"|(?:my|his|her|their) whole|the rest|the lot|everything|them all|all of them|a bottle|the bottle"
          r"|a handful"
          r"|loads|enough)\b"
          r"(?! (?:\S+ ){0,3}as (?:prescribed|directed))"
          r"|\b(?:going to|will|want to|wants to|plan to|planning to|about to|thinking about|thinking of) "
          r"(?:overdose|overdosing)\b"
          rf"|\b(?:saving|stockpiling|hoarding|saved|stockpiled|hoarded) (?:up )?(?:my |his |her )?{MEDICINE}\b",
          skip_hypothetical=False),
    _rule("on_purpose", "self_harm",
          r"\b(?:took|taken|swallowed|ate|had|overdosed|overdose) (?:\S+ ){0,6}?(?:on purpose|deliberately"
          r"|intentionally|purposely|to die|to kill myself|to end it|to not wake up|to sleep forever)\b"
          r"(?! (?:\S+ ){0,4}(?:spasms?|pain|back|sleep|cramps?|stiffness|muscles?|legs?)\b)"
          r"|\b(?:on purpose|deliberately|intentionally) (?:took|overdosed|swallowed)\b", skip_hypothetical=False),
    # A farewell after taking pills is a suicide attempt until shown otherwise.
    _rule("farewell_after_pills", "self_harm",
          r"^(?=.*\b(?:took|taken|swallowed|downed)\b).*\b(?:goodbye|bye forever|farewell|sorry for everything"
          r"|this is"
          r" (?:it|the end)|tell (?:\S+ ){0,3}i love (?:them|you|her|him))\b", skip_hypothetical=False),
)

_STOP_VERB = (
    r"(?:stop|stopped|stopping|stops|quit|quitting|quits|come off|coming off|came off|get off|getting off|got"
    r" off|go off|going off|went off|wean (?:\S+ )?off|weaning (?:\S+ )?off|weaned (?:\S+ )?off|taper"
    r"|tapering|tapered|cut out|discontinue|discontinued|discontinuing|give up|gave up|giving up|ditch"
    r"|ditched|skip|skipped|skipping|pause|paused|halt|halted)"
)
_STOP_OBJECT = (
    rf"(?:\S+ ){{0,2}}?(?:{DRUG_NAME}|it|them|my (?:\S+ )?(?:meds|medication|medicine|tablets|pills"
    r"|muscle relax\w+)|the"
    rf" (?:meds|medication|medicine|tablets|pills|drug)|this (?:drug|medicine|medication)|taking (?:it|them"
    rf"|{DRUG_NAME}|my \S+|the \S+|this \S+))\b(?! (?:from|making|causing|being|working|hurting|helping))"
)
# Alcohol problems and buying without a prescription: removed before the alcohol-mixing check, so
# "baclofen for drinking" is about dependence, not about a drink with the medicine.
OFFLABEL = re.compile(
    r"\b(?:alcoholism|alcoholics?|alcohol (?:use disorder|dependence|dependency|addiction|abuse|problems?"
    r"|cravings?|withdrawal|misuse)|aud|(?:stop|quit|quitting|stopping|cut down|cutting down|cut back|reduce"
    r"|reducing|control|curb|give up|giving up) (?:on )?(?:my |his |her )?(?:drinking|alcohol|booze|boozing|the"
    r" drink)|drinking (?:problems?|habit|addiction)|problem drinking|heavy drinking|binge drinking|for (?:my"
    r" |his |her |the )?(?:drinking|alcohol|booze|drink)|(?:alcohol|drink|drinking|booze) cravings?|cravings"
    r"|sober|sobriety|stay dry|addiction|addicted to (?:alcohol|drink|booze)|le dernier verre|ameisen"
    r"|baclocur|(?:buy|buying|order|ordering|purchase|get|getting) (?:\S+ ){0,3}(?:online|without (?:a )?"
    r"(?:script|prescription|rx|doctor)|over the counter|otc)|without (?:a )?(?:script|prescription)"
    r"|no prescription|over the counter|otc)\b"
)
ALCOHOL = (
    r"\b(?:alcohol|booze|boozing|beers?|lager|ale|cider|wines?|prosecco|champagne|vodka|whisky|whiskey|gin"
    r"|rum|tequila|brandy|bourbon|liquor|spirits|cocktails?|pints?|shots|drunk|tipsy|hungover|hangover"
    r"|drinks?|drinking|drank)\b(?! (?:of )?(?:water|coffee|tea|juice|milk|fluids?|liquids?|plenty|enough"
    r"|smoothies?|soda|pop|lemonade|grapefruit|energy|protein|shakes?))(?<!energy drinks)(?<!energy drink)"
    r"(?<!soft drinks)(?<!fizzy drinks)(?<!sports drinks)"
)
SEDATING_DRUGS = (
    r"\b(?:oxy|oxycodone|oxycontin|percocet|hydrocodone|vicodin|norco|morphine|codeine|dihydrocodeine"
    r"|codamol|cocodamol|tramadol|fentanyl|methadone|heroin|hydromorphone|dilaudid|tapentadol|buprenorphine"
    r"|suboxone|subutex|opioids?|opiates?|xanax|alprazolam|valium|diazepam|klonopin|clonazepam|ativan"
    r"|lorazepam|temazepam|restoril|librium|benzos?|benzodiazepines?|sleeping (?:pills?|tablets?)|sleep"
    r" aids?|ambien|zolpidem|zopiclone|eszopiclone|lunesta|sedatives?|tranquill?i[sz]ers?|gabapentin"
    r"|neurontin|pregabalin|lyrica|phenobarbital|barbiturates?|ketamine|ghb|diphenhydramine|benadryl"
    r"|promethazine|phenergan|nytol|zzzquil|unisom|doxylamine|cannabis|marijuana|weed|thc|edibles?|kratom)\b"
)

CAUTION_RULES: tuple[_Rule, ...] = (
    # --- Stopping, running out (AMBER; RED with withdrawal signs) ------------------------------------
    _rule("stop_medicine", "withdrawal", rf"\b{_STOP_VERB} {_STOP_OBJECT}", skip_hypothetical=False),
    # "...and now want to stop", "stopping suddenly": the medicine is the only thing being discussed.
    _rule("stop_unqualified", "withdrawal",
          r"\b(?:want|wants|going|planning|plan|thinking about|thinking of|decided|trying|try) (?:to )?(?:stop"
          r"|stopping|quit|quitting|come off|coming off)$|\b(?:stop|stopping|stopped|quit|quitting) (?:it |them )?"
          r"(?:suddenly|abruptly|all at once|at once|cold turkey|straight away|immediately)\b",
          skip_hypothetical=False),
    _rule("run_out", "withdrawal",
          r"\bcold turkey\b|\b(?:ran|run|running|runs) out\b|\bout of (?:my )?(?:\S+ )?(?:" + DRUG_NAME +
          r"|meds|medication|medicine|tablets|pills|prescription)\b|\b(?:none|no (?:\S+ )?(?:" + DRUG_NAME +
          r"|pills|tablets|meds)) left\b|(?<!alcohol )\bwithdrawals?\b|\bwithdrawing\b"
          r"|\bmissed (?:\S+ ){0,2}(?:\d+|a few|several|a couple of) (?:days|doses)\b"
          r"|\bmissed (?:my |the |a )?(?:refill|prescription|repeat|pickup)\b"
          r"|\bprescription (?:ran out|has run out|expired|lapsed)\b|\bshortage\b"
          r"|\bpharmacy (?:\S+ ){0,3}(?:out of stock|no stock|has none|does not have|did not have)\b"
          r"|\b(?:can not|could not|unable to) get (?:\S+ ){0,2}(?:refill|prescription|repeat|supply|"
          + DRUG_NAME + r")\b", skip_hypothetical=False),
    _rule("none_since", "withdrawal",
          r"\b(?:no|without|not had|not taken|not on|off|none of) (?:any |my |his |her |the )?(?:" + DRUG_NAME +
          r"|meds|medication|tablets|pills) (?:for|since|in) \S+", skip_hypothetical=False),
    _rule("without_for_days", "withdrawal",
          r"\b(?:\d+|a few|a couple of|several|two|three) days without\b|\bwithout (?:it|them|my (?:\S+ )?(?:meds"
          r"|medication|tablets|pills)|" + DRUG_NAME + r") for\b|\bforgot to (?:refill|renew|reorder|order|collect"
          r"|pick up) (?:my |the |his |her )?(?:" + DRUG_NAME + r"|meds|medication|prescription|tablets|pills)\b",
          skip_hypothetical=False),
    _rule("days_without", "withdrawal",
          r"\b(?:have not|has not|did not|not|forgot to|forgot|missed|unable to|could not|can not) (?:\S+ )?"
          r"(?:take|taken|had|have|get|got|getting|pick up|collect|refill|renew) (?:\S+ ){0,2}(?:" + DRUG_NAME +
          r"|it|them|meds|medication|medicine|tablets|pills|prescription|refill|dose|doses) (?:\S+ ){0,2}"
          r"(?:for|in|since) (?:\d+|a few|a couple|several|days|a week|the weekend|the last)\b",
          skip_hypothetical=False),
    # --- Intrathecal pump (AMBER with an urgent pump-team line) -------------------------------------
    _rule("pump", "pump",
          r"\b(?:pump|pumps|intrathecal|itb|pump refill|reservoir)\b"
          r"|\b(?:implant|device) (?:\S+ ){0,4}(?:beeping|beeps"
          r"|alarm|alarming)\b|\bmissed (?:my |the |a )?(?:refill|refill"
          r" appointment)\b(?!.*\b(?:prescription|pharmacy|tablets|pills|repeat)\b)", skip_hypothetical=False),
    # --- Groups that need a caution -------------------------------------------------------------------
    _rule("pregnancy", "pregnancy",
          r"\b(?:pregnant|pregnancy|pregnancies|(?:i am|we are|she is) expecting|expecting a baby|trying (?:for"
          r" a baby|to conceive|to get pregnant|for a child)|ttc|conceive|conceiving|conception|breastfeed\w*"
          r"|breast feed\w*|breast milk|breastmilk|(?:i am|while|when|still|she is) nursing(?! home)|nursing"
          r" (?:my|a|the) (?:baby|son|daughter|infant|newborn)|nurse (?:my |a |the |our )?(?:baby|son|daughter"
          r"|newborn|infant)|nursing mother|lactating|lactation|breast pump"
          r"|pumping (?:breast )?milk|trimester|unborn|fetus|foetus|ivf|gestation\w*|carrying a (?:baby|child)"
          r"|\d+ weeks (?:along|pregnant|gone)|(?:wife|partner|girlfriend|she) is expecting|baby on the way"
          r"|with child|expecting (?:twins|triplets"
          r"|a child|my first|our first|a little one)|planning (?:a|for a) (?:baby|family"
          r"|pregnancy))\b", skip_hypothetical=False),
    _rule("children", "children", CHILD_UNDER_18, skip_hypothetical=False),
    _rule("kidney", "kidney",
          r"\b(?:kidney|kidneys|renal|dialysis|ckd|nephrolog\w*|nephropathy|nephritis|egfr|gfr|creatinine)\b",
          skip_hypothetical=False),
    _rule("driving", "driving",
          r"\b(?:drive|drives|driving|drove|driver|behind the wheel|(?:operate|operating|use|using|work with"
          r"|working with|run|running) (?:heavy )?(?:machinery|machines|equipment|power tools)|machinery"
          r"|forklift|crane|tractor|motorbike|motorcycle|ride a (?:bike|motorbike|motorcycle|scooter)|fly a"
          r" (?:plane|drone|helicopter)|pilot|hgv|lorry|steering wheel|on the road|get in (?:the|my|a) car)\b"
          r"(?<!sex drive)(?! (?:me|him|her|us) (?:crazy|mad|nuts|insane|up the wall))",
          skip_hypothetical=False),
    # --- Personal dosing (AMBER: the prescriber sets the dose) --------------------------------------
    _rule("dosing", "dosing",
          r"\bhow (?:many|much) (?:\S+ ){0,4}?(?:should|can|do|could|must|shall|would|to|may|am|is|are)"
          r" (?:i |he |she |we |they |you |my \S+ )?(?:take|give|have|use|be taking|be giving)\b"
          r"|\bhow (?:many|much) (?:mg|tablets|pills|doses|capsules|" + DRUG_NAME + r")\b(?! (?:come|are) in)"
          r"|\bwhat (?:\S+ )?(?:dose|dosage|strength|amount of " + DRUG_NAME + r"|mg)\b"
          r"|\b(?:what|which) amount (?:\S+ ){0,2}(?:take|give|have)\b|\b(?:right|correct|best|safe) amount\b"
          r"|\bcloser together\b|\b(?:take|taking|use|using) (?:it|them|\S+) more often\b"
          r"|\b(?:dose|dosage|doses) (?:for|of) (?:me|my|a|an|him|her|someone|adults?|children|kids|a child)\b"
          r"|\b(?:my|his|her|the right|correct|usual|normal|starting|max|maximum|daily|highest|lowest|safe)"
          r" (?:\S+ )?(?:dose|dosage)\b"
          r"|\b(?:missed|miss|missing|forgot|forget|forgotten|skip|skipped|skipping) (?:to take )?(?:a |my |his"
          r" |her |the |an |one |last |this |today |\S+ )?(?:\S+ )?(?:dose|doses|pill|tablet|tablets|pills"
          r"|meds|medication|" + DRUG_NAME + r")\b"
          r"|\b(?:extra|additional|second|double|higher|bigger|lower|smaller|half a|half) (?:\S+ )?(?:dose"
          r"|one|pill|tablet|tablets|mg|" + DRUG_NAME + r")\b"
          r"|\bhow often (?:should|can|do|must|to|is)\b|\bhow many times (?:a|per|each) day\b"
          r"|\b(?:once|twice|\d+ times|three times|four times) (?:a|per|each|every) (?:day|night|week)\b"
          r"|\bdouble up\b|\b(?:take|taking) (?:\d+|two|both) (?:\S+ )?(?:at once|together|at the same time)\b"
          r"|\b(?:increase|decrease|raise|lower|up|reduce|change|adjust|split|cut|halve|crush) (?:my |the |his"
          r" |her )?(?:dose|dosage|tablets?|pills?)\b|\b\d+ ?mg\b"
          r"|\bwhen (?:should|do|can|to) (?:i |he |she |you )?take\b|\b(?:with|without) food\b"
          r"|\btime (?:of (?:the )?day )?(?:should i |do i |to )?take\b|\btake (?:\S+ ){0,2}(?:at night|in the"
          r" morning|at bedtime|before bed)\b"
          r"|\bempty stomach\b", skip_hypothetical=False),
    _rule("offlabel_alcohol", "offlabel_alcohol", OFFLABEL.pattern, skip_hypothetical=False),
    # --- General overdose questions (INFO: the poison-help line, never an emergency by itself) -------
    _rule("overdose_question", "overdose_info",
          r"\b(?:overdose|overdoses|overdosing|overdosed|toxicity|toxic dose|poisoning|poisoned|poison"
          r" (?:centre|center|control|line)|stomach pumped|kill (?:you|someone|a person|somebody))\b"
          r"|\b(?:take|takes|taking|took|taken|swallow|swallows|swallowed|had|eat|eats|ate|gets into|get into)"
          r" (?:\S+ ){0,2}(?:too much|too many|to much|to many|(?:a )?(?:massive|large|huge|big) (?:amount|dose"
          r"|number))\b"
          r"|\b(?:by accident|accidentally|by mistake|accidental) (?:\S+ ){0,3}(?:swallow\w*|takes?|taking|eats?"
          r"|took|ate)\b|\b(?:swallow\w*|takes?|taking|eats?|took|ate) (?:\S+ ){0,5}(?:by accident"
          r"|accidentally|by mistake)\b"
          rf"|\b(?:if|in case|when) (?:\S+ ){{0,2}}{CHILD} (?:\S+ ){{0,3}}(?:swallows|takes|eats|gets into|chews"
          r"|finds)\b", skip_hypothetical=False),
)

NOW_WORDS = re.compile(r"\b(?:now|right now|just|keeps?|currently|at the moment|again|still)\b")
MASSIVE_AMOUNT = re.compile(
    r"\b(?:the whole|a whole) (?:bottle|pack|packet|box|strip|blister|lot|prescription)\b|\ball (?:of )?(?:my"
    r"|his|her|their|the) (?:\S+ )?(?:pills|tablets|meds|medication|baclofen)\b|\bthem all\b|\ball of them\b"
    r"|\b(?:a )?handfuls?\b|\b(?:took|swallowed|taken) (?:\S+ ){0,2}(?:[2-9]\d|\d{3,})\b"
)
# Self-harm becomes RED when pills are already down or the danger is immediate.
ALREADY_TAKEN = re.compile(
    rf"\b(?:took|taken|swallowed|downed|necked|had|overdosed|have taken|just took) (?:\S+ ){{0,4}}?(?:all"
    rf"|them|everything|the whole|a whole|the lot|a handful|the bottle|{AT_LEAST_4}|{MEDICINE}|it)\b"
)
IMMEDIATE_DANGER = re.compile(
    r"\b(?:right now|now|about to|in (?:my|his|her|their) hands?|in front of (?:me|him|her)|goodbye|bye"
    r" forever|final message|last message|on the (?:roof|bridge|ledge|edge|tracks)|gun|knife|rope|this is it"
    r"|going to do it|doing it)\b"
)
SMALL_TALK = re.compile(
    r"^(?:(?:hi|hello|hey|hiya|howdy|yo|greetings|good (?:morning|afternoon|evening|day|night)|thanks"
    r"|thank you|cheers|ta|ok|okay|cool|great|nice|perfect|awesome|got it|bye|goodbye|see you|see ya|later"
    r"|help|please|there|again|so much|a lot|very much|you|for (?:your|the) help|for helping|that helps"
    r"|that is helpful|helpful|bot|assistant|everyone|then|what can you do|what do you do|who are you|what"
    r" are you|who made you|what is this|how does this work|how do (?:i|you) (?:use|work) (?:this|you|it)?"
    r"|how can you help(?: me)?|what can i ask(?: you)?|what questions can i ask|what are you for|are you"
    r" (?:a )?(?:bot|robot|human|real|real person|person|ai|doctor|computer|machine)|can you help(?: me)?"
    r"|what can you help with|what do you know|how are you|how is it going|nice to meet you|lol|hmm|um)\s*)+$"
)
SMALL_TALK_MAX_WORDS = 10


@dataclass(frozen=True, slots=True)
class RuleAnalysis:
    """What the rules found in one question (exposed for tests and the evaluation report)."""

    categories: frozenset[str]
    informational: bool  # asks for information, with no person-and-present-tense event
    signals: frozenset[str]  # danger signs that escalate a category: see _escalations
    rules: tuple[str, ...]  # names of the rules that fired, for debugging and reports


def _rule_fires(rule: _Rule, text: str, *, informational: bool, live: bool, drug_context: bool) -> bool:
    if rule.needs_drug_context and not drug_context:
        return False
    if rule.unless is not None and rule.unless.search(text):
        return False
    if rule.when == "statement" and informational:
        return False
    if rule.when == "live" and (informational or not live):
        return False
    if rule.skip_distant_past and DISTANT_PAST.search(text):
        return False
    if rule.skip_habitual and HABITUAL.search(text) and not NOW_WORDS.search(text):
        return False
    for match in rule.pattern.finditer(text):
        before = text[: match.start()]
        if rule.skip_hypothetical and HYPOTHETICAL_BEFORE.search(before[-80:]):
            continue
        if rule.skip_after_modal and MODAL_BEFORE.search(before[-12:]):
            continue
        return True
    return False


_SELF_HARM_RULES = frozenset(rule.name for rule in RULES if rule.category == "self_harm")


def analyse(text: str, *, drug_context: bool = False) -> RuleAnalysis:
    """Run every rule over already normalised `text` (see `normalise`)."""
    informational = bool(INFORMATION_FRAME.search(text)) and not LIVE.search(text)
    live = bool(LIVE.search(text))
    fired = [
        rule
        for rule in RULES + CAUTION_RULES
        if _rule_fires(rule, text, informational=informational, live=live, drug_context=drug_context)
    ]
    categories = {rule.category for rule in fired}
    names = [rule.name for rule in fired]

    # Alcohol, opioids and sedatives: any mention, once alcohol-dependence phrases are set aside.
    mixing_text = OFFLABEL.sub(" ", text)
    if re.search(ALCOHOL, mixing_text) or re.search(SEDATING_DRUGS, text):
        categories.add("sedatives")
        names.append("sedatives")

    signals = set()
    if re.search(OVERDOSE_DANGER, text):
        signals.add("overdose_danger")
    if MASSIVE_AMOUNT.search(text):
        signals.add("massive_amount")
    if not informational and re.search(SEDATION_DANGER, text):
        signals.add("sedation_danger")
    if not informational and re.search(WITHDRAWAL_DANGER, text):
        signals.add("withdrawal_danger")
    if ALREADY_TAKEN.search(text) or "overdose" in categories:
        signals.add("already_taken")
    if IMMEDIATE_DANGER.search(text):
        signals.add("immediate_danger")
    if informational and "self_harm" in categories and set(names) & _SELF_HARM_RULES == {"suicide_words"}:
        # "does it say anything about suicide?": the word is the topic; no wish, plan or event.
        signals.add("self_harm_topic_only")
    if "pregnancy" in categories and "children" in categories:
        # "trying for a baby", "breastfeeding my baby": the baby is not the one taking a dose.
        if not re.search(CHILD_UNDER_18, re.sub(r"\b(?:bab(?:y|ies)|newborns?|infants?)\b", " ", text)):
            categories.discard("children")
            names.remove("children")
    if "overdose" in categories and re.search(CHILD_UNDER_18, text):
        categories.add("child_ingestion")  # "gave my son his baclofen twice": a child took too much
    return RuleAnalysis(frozenset(categories), informational, frozenset(signals), tuple(names))


def _levels(categories: Iterable[str], signals: frozenset[str], base: Mapping[str, str]) -> list[tuple[str, str]]:
    """(category, level) for every notice to show, before ordering and de-duplication."""
    shown: list[tuple[str, str]] = []
    for category in categories:
        level = base[category]
        if category == "overdose" and signals & {"overdose_danger", "massive_amount"}:
            level = "RED"
        elif category == "child_ingestion" and "overdose_danger" in signals:
            level = "RED"
        elif category in ("withdrawal", "pump") and "withdrawal_danger" in signals:
            level = "RED"
        elif category == "sedatives" and "sedation_danger" in signals:
            level = "RED"
        elif category == "self_harm" and "self_harm_topic_only" in signals:
            level = "INFO"
        elif category == "self_harm" and signals & {"already_taken", "immediate_danger"}:
            shown.append((category, "RED"))  # shown with, and above, the crisis notice
        shown.append((category, level))
    return shown


def _without_redundant(shown: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Drop notices another notice already covers, so an emergency shows one clear message."""
    categories = {category for category, _ in shown}
    levels = {level for _, level in shown}
    reds = [category for category, level in shown if level == "RED"]
    drop: set[tuple[str, str]] = set()
    for category, level in shown:
        if "CRISIS" in levels and level in ("AMBER", "INFO"):
            drop.add((category, level))  # a crisis message stands alone (WHO/IASP)
        if ("self_harm", "RED") in shown and category in ("overdose", "serious_reaction_now"):
            drop.add((category, level))  # the self-harm RED notice already says: call now
        if category == "serious_reaction_now" and len(set(reds)) > 1:
            drop.add((category, level))  # a more specific RED (withdrawal, pump, mixing) says the same
        if "child_ingestion" in categories and category in ("overdose", "children", "dosing", "overdose_info"):
            drop.add((category, level))
        if "overdose" in categories and category in ("overdose_info", "dosing"):
            drop.add((category, level))
    return [item for item in shown if item not in drop]


# ---------------------------------------------------------------------------------------------------
# 4. Messages: safety.toml, formatted with the configured phone numbers.
# ---------------------------------------------------------------------------------------------------

_PHONE_LIKE = re.compile(r"\d(?:[\s-]?\d){2,}")  # "911", "1-800-222-1222": numbers belong in settings


@dataclass(frozen=True, slots=True)
class CategorySpec:
    """One category from safety.toml, its notices already formatted."""

    category: str
    notice: Notice
    escalation: Notice | None
    topic: Notice | None  # self-harm only: the gentler notice for an information question
    threshold: float
    examples: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class UnverifiedClaim:
    claim_id: str
    pattern: re.Pattern[str]
    reason: str


class _Placeholders(dict):
    def __missing__(self, key: str) -> str:
        raise KeyError(key)


def _fill(template: str, values: Mapping[str, str], where: str) -> str:
    try:
        return template.format_map(_Placeholders(values))
    except KeyError as exc:
        raise SettingsError(
            f"{SAFETY_FILE.name}: {where} uses an unknown placeholder {{{exc.args[0]}}}; "
            f"known: {', '.join('{' + k + '}' for k in sorted(values))}"
        ) from None


def _require(table: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in table:
        raise SettingsError(f"{SAFETY_FILE.name}: {where} is missing {key!r}")
    return table[key]


@dataclass(frozen=True, slots=True)
class SafetyMessages:
    """The parsed safety.toml, formatted with `Settings` (emergency number, poison and crisis lines)."""

    not_found: str
    help_reply: str
    categories: Mapping[str, CategorySpec]
    claims: tuple[UnverifiedClaim, ...]
    _disclaimer: Mapping[str, str]
    _placeholders: Mapping[str, str]

    @classmethod
    def load(cls, settings: Settings, path: Path = SAFETY_FILE) -> "SafetyMessages":
        """Read and check safety.toml; raises SettingsError naming the entry that is wrong."""
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise SettingsError(f"Could not read the safety messages in {path}: {exc}") from None
        return cls.from_dict(data, settings)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], settings: Settings) -> "SafetyMessages":
        phrases = _require(data, "phrases", "the file")
        placeholders = {
            "emergency_number_phrase": _fill(
                _require(phrases, "emergency_number", "[phrases]"),
                {"emergency_number": settings.emergency_number.strip()},
                "[phrases] emergency_number",
            ),
            "poison_phrase": _fill(phrases["poison_configured"], {"poison_line": settings.poison_line.strip()},
                                   "[phrases] poison_configured")
            if settings.poison_line.strip()
            else _require(phrases, "poison_default", "[phrases]"),
            "crisis_phrase": _fill(phrases["crisis_configured"], {"crisis_line": settings.crisis_line.strip()},
                                   "[phrases] crisis_configured")
            if settings.crisis_line.strip()
            else _require(phrases, "crisis_default", "[phrases]"),
        }

        def text(template: str, where: str) -> str:
            if _PHONE_LIKE.search(template):
                raise SettingsError(
                    f"{SAFETY_FILE.name}: {where} contains a phone number; use {{emergency_number_phrase}}, "
                    "{poison_phrase} or {crisis_phrase} so that every country gets its own number"
                )
            return _fill(template, placeholders, where)

        categories: dict[str, CategorySpec] = {}
        table = _require(data, "categories", "the file")
        for category in CATEGORIES:
            entry = _require(table, category, "[categories]")
            where = f"[categories.{category}]"
            level = _require(entry, "level", where)
            if level not in LEVEL_ORDER:
                raise SettingsError(f"{SAFETY_FILE.name}: {where} level {level!r} must be one of {LEVEL_ORDER}")
            examples = tuple(_require(entry, "examples", where))
            if not 10 <= len(examples) <= 30:
                raise SettingsError(f"{SAFETY_FILE.name}: {where} needs 10 to 30 examples, has {len(examples)}")
            extra: dict[str, Notice | None] = {}
            for key in ("escalation", "topic"):
                extra[key] = None
                if key in entry:
                    sub = entry[key]
                    extra[key] = Notice(
                        level=_require(sub, "level", f"{where}.{key}"),
                        category=category,
                        title=text(_require(sub, "title", f"{where}.{key}"), f"{where}.{key} title"),
                        text=text(_require(sub, "text", f"{where}.{key}"), f"{where}.{key} text"),
                    )
            categories[category] = CategorySpec(
                category=category,
                notice=Notice(
                    level=level,
                    category=category,
                    title=text(_require(entry, "title", where), f"{where} title"),
                    text=text(_require(entry, "text", where), f"{where} text"),
                ),
                escalation=extra["escalation"],
                topic=extra["topic"],
                threshold=float(_require(entry, "threshold", where)),
                examples=examples,
            )

        claims = []
        for entry in data.get("unverified", []):
            claim_id = _require(entry, "id", "[[unverified]]")
            try:
                pattern = re.compile(_require(entry, "pattern", f"[[unverified]] {claim_id}"))
            except re.error as exc:
                raise SettingsError(
                    f"{SAFETY_FILE.name}: [[unverified]] {claim_id} pattern is invalid: {exc}"
                ) from None
            reason = _require(entry, "reason", f"[[unverified]] {claim_id}")
            claims.append(UnverifiedClaim(claim_id, pattern, reason))

        disclaimer = dict(_require(data, "disclaimer", "the file"))
        for key in ("unreviewed", "reviewed", "long"):
            if _PHONE_LIKE.search(_require(disclaimer, key, "[disclaimer]")):
                raise SettingsError(f"{SAFETY_FILE.name}: [disclaimer] {key} contains a phone number")
        replies = _require(data, "replies", "the file")
        return cls(
            not_found=text(_require(replies, "not_found", "[replies]"), "[replies] not_found"),
            help_reply=text(_require(replies, "help", "[replies]"), "[replies] help"),
            categories=categories,
            claims=tuple(claims),
            _disclaimer=disclaimer,
            _placeholders=placeholders,
        )

    def notice(self, category: str, level: str) -> Notice:
        """The notice for `category` at `level` (its own level, or its escalation)."""
        spec = self.categories[category]
        for notice in (spec.notice, spec.escalation, spec.topic):
            if notice is not None and notice.level == level:
                return notice
        raise KeyError(f"{category} has no {level} notice in {SAFETY_FILE.name}")

    def _titles(self, documents: Sequence[Document]) -> dict[str, str]:
        titles = list(dict.fromkeys(f"“{d.title}”" for d in documents)) or ["the documents"]
        joined = titles[0] if len(titles) == 1 else ", ".join(titles[:-1]) + " and " + titles[-1]
        kind = self._disclaimer["source_kind_one" if len(titles) == 1 else "source_kind_many"]
        return {"titles": joined, "source_kind": kind, **self._placeholders}

    def disclaimer(self, documents: Sequence[Document]) -> str:
        """The one-line footer: names the sources; says "not reviewed by a clinician" unless all were."""
        key = "reviewed" if documents and all(d.reviewed for d in documents) else "unreviewed"
        return _fill(self._disclaimer[key], self._titles(documents), f"[disclaimer] {key}")

    def long_disclaimer(self, documents: Sequence[Document]) -> str:
        """The longer version, shown once per session."""
        return _fill(self._disclaimer["long"], self._titles(documents), "[disclaimer] long")

    def unverified_reasons(self, passage_text: str) -> tuple[str, ...]:
        """Why claims in this quote could not be verified; empty when it makes none of them."""
        return tuple(dict.fromkeys(c.reason for c in self.claims if c.pattern.search(passage_text)))

    def unverified_marker(self, reason: str) -> str:
        """How a reason is shown next to a quote: "⚠ unverified: <reason>"."""
        return self._disclaimer["unverified_marker"].format(reason=reason)


# ---------------------------------------------------------------------------------------------------
# 5. The detector: rules first, then similarity to example phrases, then notices in display order.
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SafetyAssessment:
    """The safety notices one question needs."""

    notices: tuple[Notice, ...]  # display order: RED, CRISIS, POISON, AMBER, INFO (records.LEVEL_ORDER)
    emergency: bool  # True iff any notice is RED, CRISIS or POISON
    categories: frozenset[str]  # every detected category id, e.g. {"overdose", "withdrawal"}
    suppress_passages: bool  # True for self-harm/CRISIS: the answer must quote nothing

    @property
    def levels(self) -> tuple[str, ...]:
        return tuple(n.level for n in self.notices)


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


class SafetyDetector:
    """Decides which safety notices a question needs. Thread-safe; keeps no conversation state."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        """Load the messages and, with an embedder, encode every example phrase once (one batch).

        `embedder=None` runs the rules only (fast tests, or no model available).
        """
        self.settings = settings
        self.messages = SafetyMessages.load(settings)
        self._embedder = embedder
        self._base_level = {c: spec.notice.level for c, spec in self.messages.categories.items()}
        self._example_matrix: np.ndarray | None = None
        if embedder is not None:
            examples = [(c, e) for c, spec in self.messages.categories.items() for e in spec.examples]
            vectors = np.asarray(embedder.encode([e for _, e in examples]), dtype=np.float32)
            # Every example is a question about the same medicine, so raw cosines between any two
            # baclofen questions are high (0.7-0.9). Subtracting the mean example vector removes that
            # shared part and leaves what tells the categories apart.
            self._centre = vectors.mean(axis=0)
            self._example_matrix = _unit(vectors - self._centre)
            owners = np.array([CATEGORIES.index(c) for c, _ in examples])
            # Examples are grouped by category, so a per-category max is one reduceat over the scores.
            self._group_starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
            self._group_categories = [CATEGORIES[i] for i in owners[self._group_starts]]
            self._thresholds = np.array([self.messages.categories[c].threshold for c in self._group_categories])

    def similarity_scores(self, question: str, query_vector: np.ndarray | None = None) -> dict[str, float]:
        """Max cosine similarity (after centring) of the question to each category's examples.

        Empty without an embedder.
        """
        if self._example_matrix is None:
            return {}
        vector = _unit(self._query_vector(question, query_vector) - self._centre)
        best = np.maximum.reduceat(self._example_matrix @ vector, self._group_starts)
        return {c: float(s) for c, s in zip(self._group_categories, best)}

    def _query_vector(self, question: str, query_vector: np.ndarray | None) -> np.ndarray:
        if query_vector is not None:
            return np.asarray(query_vector, dtype=np.float32).reshape(-1)
        assert self._embedder is not None
        return self._embedder.encode([question])[0]

    def assess(
        self, question: str, history: Sequence[str] = (), query_vector: np.ndarray | None = None
    ) -> SafetyAssessment:
        """The notices for `question`.

        Args:
            question: the user's message.
            history: the user's earlier messages, oldest first. Used only to know that "it",
                "them" or a bare count ("he took 5") refers to the medicine; an earlier emergency
                does not make this question one.
            query_vector: the unit embedding of `question`, if the caller already has it; the
                model is then not called.
        """
        text = normalise(question)
        drug_context = bool(re.search(rf"\b{MEDICINE}\b", text)) or any(
            re.search(rf"\b{MEDICINE}\b", normalise(turn)) for turn in history
        )
        found = analyse(text, drug_context=drug_context)
        categories = set(found.categories)
        if self._example_matrix is not None:
            for category, score in self.similarity_scores(question, query_vector).items():
                if category in categories or score < self.messages.categories[category].threshold:
                    continue
                urgent = self._base_level[category] in URGENT_LEVELS
                if urgent and (found.informational or not PERSON_WORD.search(text)):
                    # Similarity alone never makes an information question an emergency, nor a
                    # question that names nobody ("is baclofen dangerous?").
                    continue
                categories.add(category)
        return self._assessment(frozenset(categories), found.signals)

    def _assessment(self, categories: frozenset[str], signals: frozenset[str]) -> SafetyAssessment:
        ordered = [c for c in CATEGORIES if c in categories]
        shown = _without_redundant(_levels(ordered, signals, self._base_level))
        shown.sort(key=lambda item: (LEVEL_ORDER.index(item[1]), CATEGORIES.index(item[0])))
        notices = tuple(self.messages.notice(category, level) for category, level in shown)
        return SafetyAssessment(
            notices=notices,
            emergency=any(n.level in URGENT_LEVELS for n in notices),
            categories=categories,
            suppress_passages=any(n.level == "CRISIS" for n in notices),
        )

    def is_small_talk(self, question: str) -> bool:
        """Greetings, thanks, "what can you do?", "who are you": short, with no medical content."""
        text = normalise(question)
        if not text or len(text.split()) > SMALL_TALK_MAX_WORDS or not SMALL_TALK.match(text):
            return False
        return not analyse(text).categories
