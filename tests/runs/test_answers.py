"""Answers are checked against the requested type's field annotations.

The command line, the runs API and the web UI share this one check, so a
value one of them refuses is refused by all.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import enact
from enact import runs
from enact._runs.answers import build_answer, describe_answer
from runs.flows import AskPoint, Point


@enact.register
@dataclasses.dataclass
class Settings(enact.Resource):
    """Fields of every checked kind, and some with defaults."""

    name: str
    ratio: float
    enabled: bool
    retries: int = 3
    extra: Any = None


def test_wrong_field_types_are_refused(active: enact.Store) -> None:
    run = enact.run(AskPoint())
    (pending,) = run.pending()
    for wrong, problem in [
        ({"x": "a", "y": 4}, 'field x got "a", not a whole number'),
        ({"x": 1.5, "y": 4}, "field x got 1.5, not a whole number"),
        ({"x": True, "y": 4}, "field x got true, not a whole number"),
        ({"x": 1}, "field y missing"),
        ({"x": 1, "y": 2, "z": 3}, "it has no field z"),
        ("north", "got 'north', which is not JSON"),
        ("null", "got null"),
        ([1, 2], "got [1, 2]"),
    ]:
        with pytest.raises(runs.WrongAnswerType) as refused:
            runs.parse_answer(pending, wrong)
        message = str(refused.value)
        assert message.startswith(
            "The answer for Point must be a JSON object with fields x (a whole "
            'number) and y (a whole number), e.g. {"x": 1, "y": 2}; '
        ), message
        assert problem in message, message
        assert refused.value.run_id == run.id
    # The refused answers left the run waiting; a right one is taken.
    assert run.pending() == (pending,)
    assert runs.parse_answer(pending, {"x": 1, "y": 2}) == Point(1, 2)


def test_the_runs_api_refuses_what_the_check_refuses(active: enact.Store) -> None:
    run = enact.run(AskPoint())
    with pytest.raises(runs.WrongAnswerType, match=r"field x got 1\.5"):
        runs.answer(run.id, {"x": 1.5, "y": 2})
    assert len(run.pending()) == 1


@given(
    st.one_of(st.booleans(), st.text(), st.floats(), st.none(), st.lists(st.integers()))
)
def test_only_whole_numbers_fit_an_int_field(value: Any) -> None:
    if isinstance(value, float) and value.is_integer():
        value = value + 0.5  # a float that is whole is still no int in JSON
    with pytest.raises(runs.WrongAnswerType, match="field x got"):
        build_answer(Point, {"x": value, "y": 1})


@given(st.integers(), st.integers())
def test_whole_numbers_fit(x: int, y: int) -> None:
    assert build_answer(Point, {"x": x, "y": y}) == Point(x, y)


def test_kinds_defaults_and_the_description() -> None:
    description = describe_answer(Settings)
    assert description.startswith(
        "a JSON object with fields name (text), ratio (a number), enabled (true "
        "or false), retries (a whole number, optional) and extra (any JSON value, "
        "optional), e.g. "
    )
    example = json.loads(description.split("e.g. ", 1)[1])
    assert build_answer(Settings, example) == Settings("text", 2.5, True, 4, None)
    # An int fits a float field (as a float, so the value's digest is fixed).
    made = build_answer(Settings, {"name": "a", "ratio": 2, "enabled": False})
    assert made == Settings("a", 2.0, False) and type(made.ratio) is float
    with pytest.raises(runs.WrongAnswerType, match="field enabled got 1, not true"):
        build_answer(Settings, {"name": "a", "ratio": 2, "enabled": 1})
    with pytest.raises(runs.WrongAnswerType, match="field name got 5, not text"):
        build_answer(Settings, {"name": 5, "ratio": 2, "enabled": True})


def test_built_in_value_types() -> None:
    assert build_answer(enact.Int, "3") == 3
    assert build_answer(enact.Float, 3) == 3.0
    assert build_answer(enact.Str, "north") == "north"
    with pytest.raises(
        runs.WrongAnswerType,
        match=r"^The answer for Int must be a whole number, e.g. 3; got 1.5, not",
    ):
        build_answer(enact.Int, 1.5)
    with pytest.raises(runs.WrongAnswerType, match="got 'three', which is not JSON"):
        build_answer(enact.Int, "three")
    with pytest.raises(runs.WrongAnswerType, match="must be text"):
        build_answer(enact.Str, 4)
