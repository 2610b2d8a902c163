"""Safety layer, part 2: the vocabulary (regex fragments) and the rule table.

Everything here is a pattern over text already normalised by `assistant.safety_text.normalise`
(lower-case words, single spaces): who a person is, what counts as a medicine, the danger signs,
the frames that make a question informational, and `RULES` / `CAUTION_RULES`, one named rule per
situation with a comment saying why. It is one long table on purpose: a clinician reviewing the
rules reads it top to bottom. How a rule is applied lives in `assistant.safety_rules`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

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
    # Asking what to do about an overdose means one is happening: "baclofen overdose what to do".
    # When unsure between information and an emergency, SAFETY.md says choose the emergency.
    _rule("overdose_what_to_do", "overdose",
          r"\b(?:overdose|overdosed|overdosing|od|too (?:much|many))\b(?:\s\S+){0,6}?\s(?:what (?:to|do i|do we|should i"
          r"|should we|can i|can we) do|help(?: me)?(?: please)?|what now|now what)\b"),
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

# Greetings, thanks and questions about the assistant itself (see SafetyDetector.is_small_talk).
SMALL_TALK = re.compile(
    r"^(?:(?:hi|hello|hey|hiya|howdy|yo|greetings|good (?:morning|afternoon|evening|day|night)|thanks"
    r"|thank you|cheers|ta|ok|okay|cool|great|nice|perfect|awesome|got it|bye|goodbye|see you|see ya|later"
    r"|help|please|there|again|so much|a lot|very much|you|for (?:your|the) help|for helping|that (?:really )?help(?:s|ed)"
    r"|that is helpful|helpful|bot|assistant|everyone|then|what can you do|what do you do|who are you|what"
    r" are you|who made you|what is this|how does this work|how do (?:i|you) (?:use|work) (?:this|you|it)?"
    r"|how can you help(?: me)?|what can i ask(?: you)?|what questions can i ask|what are you for|are you"
    r" (?:a )?(?:bot|robot|human|real|real person|person|ai|doctor|computer|machine)|can you help(?: me)?"
    r"|what can you help with|what do you know|how are you|how is it going|nice to meet you|lol|hmm|um)\s*)+$"
)
SMALL_TALK_MAX_WORDS = 10
