"""Topics as data (assistant/topics.toml): every example and counter-example is checked.

The gates and evidence patterns are checked without the model; detection with the real model, each
example judged against the bank without itself (leave-one-out), so the examples cannot pass just by
being in the bank.
"""

from __future__ import annotations

import re

import pytest

from assistant.errors import DataFileError
from assistant.records import Chunk
from assistant.topics import TOPICS_FILE, TopicDetector, load_topics, shows_topic

TOPICS = load_topics()
EXAMPLES = [(t.name, e) for t in TOPICS for e in t.examples]
NOT_EXAMPLES = [(t.name, e) for t in TOPICS for e in t.not_examples]


def test_every_topic_has_a_label_examples_and_a_counter_example():
    assert len(TOPICS) >= 20
    for topic in TOPICS:
        assert topic.label and len(topic.examples) >= 2 and topic.not_examples, topic.name


@pytest.mark.parametrize("name, example", EXAMPLES)
def test_every_example_passes_its_topic_gate(name, example):
    topic = next(t for t in TOPICS if t.name == name)
    assert topic.asks.search(example), f"{name}: the gate misses {example!r}"


def test_a_bad_pattern_names_its_topic(tmp_path):
    bad = tmp_path / "topics.toml"
    bad.write_text(
        TOPICS_FILE.read_text()
        .replace("[uses]", "[uses]\nasks = '(unclosed'\n", 1)
        .replace("asks = '\\b(used for", "old_asks = '\\b(used for", 1)
    )
    with pytest.raises(DataFileError, match="uses"):
        load_topics(bad)


@pytest.mark.parametrize(
    "name, sentence, shown",
    [
        ("alcohol", "It's best not to drink alcohol while you are taking baclofen.", True),
        (
            "alcohol",
            "Baclofen helped individuals reduce their alcohol consumption and maintain abstinence, while studies continue.",
            False,
        ),
        ("alcohol", "Baclofen as a treatment for alcohol addiction", False),
        ("storage", "Store at 20° to 25°C (68° to 77°F).", True),
        ("storage", "Physical therapy helps restore movement.", False),
        ("timing", "The tablets start to work after 1 hour.", True),
        ("timing", "Take it 3 times a day, 6 to 8 hours apart.", False),
        ("how_to_take", "It's better to take baclofen tablets with or after food.", True),
        ("how_to_take", "The US Food and Drug Administration approved it.", False),
        ("dose", "The usual starting dose for adults is 5mg (half a tablet), taken 3 times a day.", True),
        ("dose", "Patients should discuss their medical history with their provider.", False),
        (
            "references",
            "1. World Health Organization (WHO). (2021). WHO Model Formulary. Retrieved from https://www.who.int/",
            True,
        ),
    ],
)
def test_evidence_is_read_sentence_by_sentence_in_the_documents_words(name, sentence, shown):
    topic = next(t for t in TOPICS if t.name == name)
    chunk = Chunk("x#0", "x", sentence, 0, len(sentence), "", "paragraph", ((0, len(sentence)),))
    assert shows_topic(topic, chunk) is shown


def test_a_section_heading_shows_the_topic_of_its_passages():
    pregnancy = next(t for t in TOPICS if t.name == "pregnancy")
    text = "Use only if the benefit outweighs the risk."
    assert shows_topic(
        pregnancy, Chunk("x#0", "x", text, 0, len(text), "8.1 Pregnancy", "paragraph", ((0, len(text)),))
    )


@pytest.fixture(scope="module")
def detector(real_embedder):
    mask = re.compile(r"\bbaclofen\b", re.IGNORECASE)
    return TopicDetector(TOPICS, real_embedder, mask=lambda text: mask.sub("", text)), real_embedder, mask


@pytest.mark.slow
def test_examples_are_read_as_their_topic_when_left_out_of_the_bank(detector):
    """Leave-one-out over every example: at most a few may fall to a neighbouring topic."""
    topics, embedder, mask = detector
    vectors = embedder.encode([mask.sub("", e) for _, e in EXAMPLES])
    missed = []
    for row, ((name, example), vector) in enumerate(zip(EXAMPLES, vectors, strict=True)):
        reading = topics.detect(example, vector, skip=frozenset({row}))
        if name not in [t.name for t in reading.topics]:
            missed.append(f"{name}: {example}")
    assert len(missed) <= len(EXAMPLES) // 25, missed


@pytest.mark.slow
@pytest.mark.parametrize("name, example", NOT_EXAMPLES)
def test_counter_examples_are_not_read_as_the_topic(detector, name, example):
    topics, embedder, mask = detector
    reading = topics.detect(example, embedder.encode([mask.sub("", example)])[0])
    assert name not in [t.name for t in reading.topics]


@pytest.mark.slow
@pytest.mark.parametrize(
    "question, expected, not_expected",
    [
        ("is it ok to drive after my 10mg dose?", "driving", "dose"),
        ("ran out of my tablets and didnt get a refill, now i feel shaky and hot", "stopping", "pump"),
        (
            "my daughter is 14 weeks pregnant and takes it for her CP, should she keep taking it?",
            "pregnancy",
            "children",
        ),
        ("i take it with my breakfast, does it make you dizzy", "side_effects", "how_to_take"),
    ],
)
def test_a_gate_word_in_passing_does_not_decide_the_topic(detector, question, expected, not_expected):
    topics, embedder, mask = detector
    names = [t.name for t in topics.detect(question, embedder.encode([mask.sub("", question)])[0]).topics]
    assert names and names[0] == expected and not_expected not in names
