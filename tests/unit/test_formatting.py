"""How a number, a metric, a duration and a table read, in every file pocgen writes."""

from __future__ import annotations

import pytest

from pocgen.topics import warning, worn_topic
from pocgen.writeup.formatting import (
    article,
    duration,
    metric_name,
    missing,
    ms,
    number,
    table,
    upper_first,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.87314, "0.873"),
        (1.0, "1.000"),
        (12345, "12,345"),
        (12.0, "12"),
        (12.345, "12.3"),
        (1234.5, "1,234.5"),
        (True, "True"),
        (None, "None"),
        ("–", "–"),
    ],
)
def test_numbers(value: object, expected: str) -> None:
    assert number(value) == expected


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("map50", "mAP@0.5"),
        ("macro_f1", "macro-F1"),
        ("all_found_rate", "share of images with every object found"),
        ("kappa", "Cohen's kappa"),
        ("some_new_metric", "some new metric"),
    ],
)
def test_metric_names(key: str, expected: str) -> None:
    assert metric_name(key) == expected


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(3.21, "3.2 s"), (301.4, "5 min 1 s"), (3600, "1 h 0 min"), (7322, "2 h 2 min")],
)
def test_durations(seconds: float, expected: str) -> None:
    assert duration(seconds) == expected


def test_small_words() -> None:
    assert ms(3.42) == "3.4 ms"
    assert article("image classification") == "an" and article("text") == "a"
    assert upper_first("iPhone photos") == "IPhone photos" and upper_first("") == ""
    assert missing("No results yet", "make x") == "_No results yet: run `make x`._"


def test_tables_escape_pipes() -> None:
    assert table(["a", "b"], [["x|y", "1"]]) == "| a | b |\n| --- | --- |\n| x\\|y | 1 |"


@pytest.mark.parametrize(
    ("texts", "topic"),
    [
        (("Titanic survival",), "Titanic survival"),
        (("digits", "MNIST classifier"), "MNIST digits"),
        (("Predicting stock prices",), "stock prediction"),
        (("Cats vs dogs",), "cats vs dogs"),
        (("Flag short supply kits in a hospital store room",), None),
    ],
)
def test_worn_topics(texts: tuple, topic: str | None) -> None:
    assert worn_topic(*texts) == topic


def test_the_worn_topic_warning_names_the_topic() -> None:
    assert warning("iris flowers").startswith("this looks like a iris flowers project")
