"""Normalisation, so that the safety rules can be written once, in plain spelling.

`Normaliser.normalise` lower-cases a question, spells out contractions, chat slang and number words
(assistant/vocabulary.toml [spelled_out], the one list shared with the lexicon), and corrects
misspellings of symptom words and of the corpus's medicine names ("siezure" -> "seizure",
"baclofin" -> "baclofen"). Only `SYMPTOM_WORDS` and the medicine names are ever corrected to, and
ordinary English words near them (`_PROTECTED`) are left alone. The rules in rules.toml and the
red flags in red_flags.toml match this normalised text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

from assistant.spelling import DeleteIndex, edit_distance

_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)*|\d+(?:\.\d+)?")


_HAS_NOT_IS = re.compile(r"\b(he|she|it|that|there|who|what) is (been|got|had|gone|taken|swallowed)\b")

_AGE_UNITS = frozenset({"yo", "yr", "yrs", "mo", "mos"})

_NUMBER_WORDS = {
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "ten": "10",
    "eleven": "11",
    "twelve": "12",
    "thirteen": "13",
    "fourteen": "14",
    "fifteen": "15",
    "sixteen": "16",
    "seventeen": "17",
    "eighteen": "18",
    "nineteen": "19",
    "twenty": "20",
    "thirty": "30",
    "forty": "40",
    "fifty": "50",
    "hundred": "100",
    "dozen": "12",
}

# Symptom, situation and drug words whose misspellings are corrected (with the corpus's medicine
# names). Only these are ever corrected to.
SYMPTOM_WORDS = frozenset(
    """
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


# Words longer than this are never corrected: no target is this long, and the cost of looking a
# word up grows with its length (a pasted 1,000-letter "word" must not cost seconds).
MAX_CORRECTED_LENGTH = 24


def _max_edits(token: str) -> int:
    # Short words have many real neighbours: "kidny" (5 letters) may differ by one edit,
    # "baclofn"/"siezure" (7+) by two.
    if len(token) < 5 or len(token) > MAX_CORRECTED_LENGTH:
        return 0
    return 1 if len(token) <= 6 else 2


class Normaliser:
    """Normalises questions for the rules; corrects misspellings of `SYMPTOM_WORDS` and `medicine_names`."""

    def __init__(self, spelled_out: Mapping[str, str], medicine_names: Iterable[str] = ()) -> None:
        self.spelled_out = dict(spelled_out)
        names = {w for n in medicine_names for w in n.lower().split() if w.isalpha()}
        self.targets = SYMPTOM_WORDS | names
        # Symmetric-delete index: a misspelling and its target share a deletion variant, so a
        # lookup costs a few dozen dictionary probes instead of comparing against every target.
        self._index = DeleteIndex(self.targets, depth=2)
        self._corrected: dict[str, str] = {}

    def correct_spelling(self, token: str) -> str:
        """The target word `token` is a misspelling of, or `token` unchanged."""
        found = self._corrected.get(token)
        if found is None:
            found = self._correct(token)
            # Bounded: a flood of random words must not grow memory, nor must one pasted megabyte-long
            # "word" (never corrected, so nothing to remember) stay alive as a key.
            if len(self._corrected) < 20_000 and len(token) <= MAX_CORRECTED_LENGTH:
                self._corrected[token] = found
        return found

    def _correct(self, token: str) -> str:
        max_edits = _max_edits(token)
        if not max_edits or token in self.targets or token in _PROTECTED or not token.isalpha():
            return token
        candidates = self._index.candidates(token, max_edits)
        scored = sorted((edit_distance(token, c), abs(len(c) - len(token)), c) for c in candidates)
        if scored and scored[0][0] <= max_edits:
            return scored[0][2]
        return token

    def normalise(self, text: str) -> str:
        """Lower-case words separated by single spaces, with slang expanded and misspellings corrected.

        "Hes having a siezure, cant breath!!" -> "he is having a seizure can not breath"
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
            replacement = self.spelled_out.get(raw) or _NUMBER_WORDS.get(raw)
            if replacement is None and raw.endswith("'s") and len(raw) > 3:
                replacement = raw[:-2]  # possessive: "husband's" -> "husband"
            for word in (replacement or raw).split():
                words.append(self.correct_spelling(word))
        # "he's been", "she's had": the "'s" there is "has".
        return _HAS_NOT_IS.sub(r"\1 has \2", " ".join(words))
