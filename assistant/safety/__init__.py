"""The safety layer: which notices a question needs, and every safety message the user sees.

A package a clinician can review: the rules, red flags, escalation policy and wording are data
(rules.toml, red_flags.toml, wording.toml), each rule and red flag with example questions that
must and must not fire; `baclofen-qa safety-sheet` prints them all as one review sheet.

Modules, in the order data flows through them: text.py (normalisation) -> rulebook.py (rules.toml
read and checked) -> analysis.py (rules applied, levels) and triage.py (red flags, read by sentence)
-> detector.py (the three readings together) ; labels.py (the words every surface shows the same way)
and messages.py (the rest of wording.toml) ; sheet.py (review sheet) ;
bank.py (scoring an emergency question bank).
Callers import from `assistant.safety` only; its public face is pinned by a test.
"""

from assistant.records import Category, Level
from assistant.safety.detector import SafetyAssessment, SafetyDetector
from assistant.safety.labels import Labels, load_labels, personalise
from assistant.safety.messages import SafetyMessages
from assistant.safety.rulebook import RulebookError

__all__ = [
    "Category",
    "Labels",
    "Level",
    "RulebookError",
    "SafetyAssessment",
    "SafetyDetector",
    "SafetyMessages",
    "load_labels",
    "personalise",
]
