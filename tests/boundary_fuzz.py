"""The boundary fuzz tests' shared parts: input mutators, example budgets, counting.

Counting is for the figures in docs/hardening.md.

Each fuzz test calls :func:`tally` once per input with what the boundary did
with it: ``accepted`` (and the test's oracle agreed it is valid) or
``typed_error`` (the boundary's documented error). A crash (any other
exception) or a wrongly accepted input fails the test instead, so a passing
run's figures have crashes = 0 and wrongly accepted = 0 by construction.
``HACORE_FUZZ_FIGURES=path`` makes the session write the counts there as JSON
(conftest.py), so the figures come from the tests themselves.

Budgets: ``FAST`` in the default run (CI), ``SLOW`` in the ``slow``-marked
twin of each test (``make test-slow``), which is where the documented figures
(>= 10,000 inputs per boundary) come from.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ACCEPTED = "accepted"
TYPED_ERROR = "typed_error"

_COUNTS: dict[str, Counter[str]] = {}


def tally(boundary: str, outcome: str) -> None:
    assert outcome in (ACCEPTED, TYPED_ERROR)
    _COUNTS.setdefault(boundary, Counter())[outcome] += 1


def figures() -> dict[str, dict[str, int]]:
    return {
        name: {
            "inputs": sum(c.values()),
            "accepted": c[ACCEPTED],
            "typed_errors": c[TYPED_ERROR],
            "crashes": 0,
            "wrongly_accepted": 0,
        }
        for name, c in sorted(_COUNTS.items())
    }


def write_figures(path: Path) -> None:
    path.write_text(json.dumps(figures(), indent=2, sort_keys=True) + "\n")


# Characters that look like, or fold to, the ASCII a parser expects, and the
# ones that end or split lines: what a mutator inserts besides random text.
TRICKY = (
    "\x00\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\u2028\u2029 \"'\\{}#!"
    "\u00b2\u2460\u0661\u0665\u0660\uff11\u096b"  # superscript, circled, Arabic, wide, Devanagari
    "\u0131\u017f\u212a\u00df\ufb01"  # dotless i, long s, Kelvin, sharp s, fi ligature
    "0-+.eE_"
)


@st.composite
def mutated(draw: st.DrawFn, valid: st.SearchStrategy[str]) -> str:
    """A valid input with a few random edits: insert, delete, replace, case-flip, repeat."""
    text = draw(valid)
    chars = st.one_of(st.sampled_from(TRICKY), st.characters())
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["insert", "delete", "replace", "case", "repeat", "cut"]))
        i = draw(st.integers(0, len(text)))
        if op == "insert":
            text = text[:i] + draw(chars) + text[i:]
        elif op == "delete":
            text = text[:i] + text[i + 1 :]
        elif op == "replace":
            text = text[:i] + draw(chars) + text[i + 1 :]
        elif op == "case":
            text = text.swapcase() if draw(st.booleans()) else text.lower()
        elif op == "repeat":
            text = text[:i] + text[i:] * draw(st.integers(2, 3))
        else:
            text = text[:i]
    return text


def fuzz_text(valid: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Mostly mutations of valid inputs, some valid ones, some plain random text."""
    return st.one_of(mutated(valid), mutated(valid), valid, st.text(max_size=80))


# -- JSON documents: structural mutations, then the text's own ----------------------

HUGE_INT = "__HUGE_INT__"  # replaced in the text by an integer of 5,000 digits
DEEP = "__DEEP__"  # replaced in the text by 3,000 nested lists
_EVIL_VALUES: st.SearchStrategy[Any] = st.sampled_from(
    [
        HUGE_INT,
        DEEP,
        2**63,
        2**63 - 1,
        2**64,
        -(2**63) - 1,
        -1,
        0,
        256,
        True,
        False,
        None,
        1.5,
        float("nan"),
        float("inf"),
        -0.0,
        "",
        "x",
        [],
        {},
        "\udcff",
    ]
)
_json_leaf = st.one_of(
    _EVIL_VALUES, st.integers(), st.floats(), st.text(max_size=8), st.booleans(), st.none()
)


def _paths(value: object, prefix: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for key in sorted(value):
            out += _paths(value[key], (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out += _paths(item, (*prefix, i))
    return out


@st.composite
def json_mutants(draw: st.DrawFn, valid: st.SearchStrategy[object]) -> str:
    """The JSON text of a valid document with a value replaced, a key dropped or
    added, or (sometimes) the text itself edited; huge integers and deep nesting
    go in as text, since Python will not write them."""
    doc = copy.deepcopy(draw(valid))
    for _ in range(draw(st.integers(0, 2))):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths))
        op = draw(st.sampled_from(["replace", "replace", "drop", "add"]))
        if not path:
            if op == "replace":
                doc = draw(_json_leaf)
            continue
        parent: Any = doc
        for key in path[:-1]:
            parent = parent[key]
        last: Any = path[-1]
        if op == "replace":
            parent[last] = draw(_json_leaf)
        elif op == "drop":
            del parent[last]
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=6))] = draw(_json_leaf)
        else:
            parent.append(draw(_json_leaf))
    text = json.dumps(doc, allow_nan=True, ensure_ascii=draw(st.booleans()))
    text = text.replace(json.dumps(HUGE_INT), "9" * 5000)
    text = text.replace(json.dumps(DEEP), "[" * 3000 + "]" * 3000)
    if draw(st.integers(0, 9)) == 3:
        text = draw(mutated(st.just(text)))
    return text
