"""Well-worn tutorial topics that hiring managers have seen a thousand times.

A Titanic or MNIST project shows you followed a tutorial, not that you can do the job. pocgen
warns (never refuses) when a project looks like one, at `pocgen new` and in `pocgen check`.
"""

from __future__ import annotations

import re

WORN_TOPICS: dict[str, str] = {
    "Titanic survival": r"\btitanic\b",
    "MNIST digits": r"\b(fashion[- ]?)?mnist\b|handwritten digits?",
    "iris flowers": r"\biris\b",
    "house prices": r"\bhouse[- ]prices?\b|\bhousing prices?\b|\bboston housing\b",
    "tweet sentiment": r"\btweets?\b.*\bsentiment\b|\bsentiment\b.*\btweets?\b",
    "stock prediction": r"\bstock (price )?(prediction|forecast)|\bpredict(ing)? stock",
    "a generic chatbot": r"\b(generic )?chat ?bot\b",
    "cats vs dogs": r"\bcats? (vs\.?|versus|and) dogs?\b",
}


def worn_topic(*texts: str) -> str | None:
    """The name of the worn topic the texts match, or None."""
    joined = " ".join(texts).lower()
    for topic, pattern in WORN_TOPICS.items():
        if re.search(pattern, joined):
            return topic
    return None


def warning(topic: str) -> str:
    return (
        f"this looks like a {topic} project, a well-worn tutorial topic hiring managers see "
        "all the time; a problem a real company has (and data you collected) will stand out more."
    )
