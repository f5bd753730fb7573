"""The suite's own layout: pytest imports test modules by their basename."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

TESTS = Path(__file__).resolve().parents[1]


def test_no_two_test_modules_share_a_basename() -> None:
    # Two `test_gpu.py` in different folders stop collection with "import file mismatch",
    # which ended a CI run before a single test ran.
    names = Counter(path.name for path in TESTS.rglob("test_*.py"))
    assert [name for name, count in names.items() if count > 1] == []
