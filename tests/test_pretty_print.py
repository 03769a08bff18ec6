"""Snapshot tests for enact.pretty_print (docs/compatibility.md#pretty-printing)."""

from __future__ import annotations

import dataclasses
import pathlib
import re
from typing import Any, Optional

import pytest

import enact
from enact.pretty_print import PPrinter, PPValue, pformat, pprint
from enact.references import Ref


@dataclasses.dataclass
class R(enact.Resource):
    a: Any
    b: Any


@enact.register
@dataclasses.dataclass
class LinkedList(enact.Resource):
    value: int
    next: Optional[Ref[LinkedList]]  # noqa: UP045 - evaluated by dataclasses


# An analogue of the documented Invocation example: a call record whose request and
# response both refer to the same invokable snapshot.
@dataclasses.dataclass
class IntToStr(enact.Resource):
    salt: str


@dataclasses.dataclass
class Request(enact.Resource):
    invokable: Ref[IntToStr]
    input: Ref[enact.Int]


@dataclasses.dataclass
class Response(enact.Resource):
    invokable: Ref[IntToStr]
    output: Ref[enact.Str]
    raised: Optional[Ref[Any]]  # noqa: UP045
    raised_here: bool
    children: list[Ref[Any]]


@dataclasses.dataclass
class Invocation(enact.Resource):
    request: Ref[Request]
    response: Ref[Response]


HEX = re.compile(r"#([0-9a-f]{6})\b")


def normalize(text: str) -> str:
    """Replaces the digest fragments, which depend on the digest scheme."""
    return HEX.sub("#<hex>", text)


def fragments(text: str) -> list[str]:
    return HEX.findall(text)


def short(ref: Ref[Any]) -> str:
    return ref.digest[:6]


# -- the documented reference outputs ---------------------------------------


def test_one_line_resource() -> None:
    assert pformat(R(a=1, b="x")) == "R(a=1, b='x')"


def test_list() -> None:
    assert pformat([1, "a", None, True, 2.5]) == "[\n  1\n  'a'\n  None\n  True\n  2.5]"


@pytest.mark.parametrize(
    ("value", "expected"),
    [([], "[]"), ({}, "{}"), ({"a": 1}, "{ a 1}")],
)
def test_empty_and_small_containers(value: Any, expected: str) -> None:
    assert pformat(value) == expected


def test_nested_resource() -> None:
    assert (
        pformat(R(a=[R(a=1, b=None)], b=None))
        == "R:\n  a: [ R(a=1, b=None)]\n  b: None"
    )


@pytest.fixture
def linked_list() -> Any:
    """``l1 -> l2 -> old l1`` in an in-memory store; yields the refs."""
    with enact.InMemoryStore():
        l1 = LinkedList(value=1, next=None)
        old_l1 = enact.commit(l1)
        l2 = LinkedList(value=2, next=old_l1)
        r2 = enact.commit(l2)
        l1.next = r2
        r1 = enact.commit(l1)
        yield r1, r2, old_l1


def test_linked_list(linked_list: Any, capsys: pytest.CaptureFixture[str]) -> None:
    r1, r2, old_l1 = linked_list
    pprint(r1)
    out = capsys.readouterr().out
    assert normalize(out) == (
        "-> LinkedList#<hex>:\n"
        "  value: 1\n"
        "  next:\n"
        "    -> LinkedList#<hex>:\n"
        "      value: 2\n"
        "      next: -> LinkedList(value=1, next=None)#<hex>\n"
    )
    assert fragments(out) == [short(r1), short(r2), short(old_l1)]


def test_linked_list_max_ref_depth(linked_list: Any) -> None:
    r1, r2, _ = linked_list
    text = pformat(r1, max_ref_depth=1)
    assert normalize(text) == (
        "-> LinkedList#<hex>:\n  value: 1\n  next: -> LinkedList#<hex>"
    )
    assert fragments(text) == [short(r1), short(r2)]


def test_max_ref_depth_zero_means_no_limit(linked_list: Any) -> None:
    r1, _, _ = linked_list
    assert pformat(r1, max_ref_depth=0) == pformat(r1)


# -- skip_repeated_refs --------------------------------------------------------


@pytest.fixture
def invocation() -> Any:
    with enact.InMemoryStore():
        invokable = enact.commit(IntToStr(salt="s"))
        request = enact.commit(
            Request(invokable=invokable, input=enact.commit(enact.Int(1)))
        )
        response = enact.commit(
            Response(
                invokable=enact.commit(IntToStr(salt="s")),
                output=enact.commit(enact.Str("1s")),
                raised=None,
                raised_here=False,
                children=[],
            )
        )
        yield Invocation(request=request, response=response)


def test_skip_repeated_refs(invocation: Any) -> None:
    text = pformat(invocation, skip_repeated_refs=True)
    assert normalize(text) == (
        "Invocation:\n"
        "  request:\n"
        "    -> Request#<hex>:\n"
        "      invokable: -> IntToStr(salt='s')#<hex>\n"
        "      input: -> Int(value=1)#<hex>\n"
        "  response:\n"
        "    -> Response#<hex>:\n"
        "      invokable: -> IntToStr#<hex>\n"
        "      output: -> '1s'#<hex>\n"
        "      raised: None\n"
        "      raised_here: False\n"
        "      children: []"
    )
    first, second = fragments(text)[1], fragments(text)[4]
    assert first == second == short(invocation.request().invokable)


def test_without_skip_repeated_refs_both_expand(invocation: Any) -> None:
    text = pformat(invocation)
    assert text.count("invokable: -> IntToStr(salt='s')#") == 2


def test_seen_refs_reset_between_calls(invocation: Any) -> None:
    printer = PPrinter(skip_repeated_refs=True)
    assert printer.pformat(invocation) == printer.pformat(invocation)


# -- deviations and extensions ---------------------------------------------------


def test_bytes_render_as_size_everywhere() -> None:
    assert pformat(b"abc") == "<3 bytes>"
    assert pformat([b"ab", b""]) == "[\n  <2 bytes>\n  <0 bytes>]"
    assert pformat({"k": b"abcd"}) == "{ k <4 bytes>}"
    assert pformat(R(a=b"ab", b=[b"xyz"])) == "R:\n  a: <2 bytes>\n  b: [ <3 bytes>]"
    assert pformat(R(a=b"ab", b=1)) == "R(a=<2 bytes>, b=1)"
    assert PPrinter().from_sequence(b"ab", 0) == PPValue("<2 bytes>")


def test_builtin_resources() -> None:
    assert pformat(enact.Bytes(b"ab")) == "Bytes(value=<2 bytes>)"
    assert pformat(enact.Int(3)) == "Int(value=3)"
    assert pformat(enact.Str("t")) == "'t'"
    assert pformat(enact.NoneResource()) == "NoneResource()"


def test_types_and_tuples() -> None:
    assert pformat(R(a=enact.Int, b=(1, 2))) == (
        "R:\n  a: Int\n  b:\n    [\n      1\n      2]"
    )


def test_non_field_values_raise() -> None:
    class Plain:
        pass

    with pytest.raises(AssertionError):
        pformat(Plain())
    with pytest.raises(AssertionError):
        pformat(Plain)


def test_plain_values_print_as_their_wrappers() -> None:
    # Values with a type wrapper, e.g. in a journal's resources.
    assert pformat({2, 1}) == "SetWrapper:\n  value:\n    [\n      1\n      2]"
    assert pformat(int) == "int"
    assert pformat(R(a=frozenset(), b=str)) == (
        "R:\n  a: FrozenSetWrapper: value: []\n  b: str"
    )


def test_registered_formatters_take_priority() -> None:
    printer = PPrinter()
    printer.register(object, lambda v, depth: PPValue(f"obj<{type(v).__name__}>"))
    printer.register(int, lambda v, depth: PPValue(f"int<{v}>"))
    # Most recent first: int wins for ints (and bools), object for the rest.
    assert printer.pformat(3) == "int<3>"
    assert printer.pformat(True) == "int<True>"
    assert printer.pformat("x") == "obj<str>"
    assert printer.pformat(R(a=1, b=2)) == "obj<R>"


def test_registered_formatter_for_resource_type() -> None:
    printer = PPrinter()
    printer.register(R, lambda v, depth: PPValue(f"R{{{v.a}}}"))
    assert printer.pformat([R(a=1, b=2)]) == "[ R{1}]"
    assert pformat([R(a=1, b=2)]) == "[ R(a=1, b=2)]"  # Other printers unaffected.


def test_registered_formatter_can_recurse() -> None:
    printer = PPrinter()
    printer.register(
        R,
        lambda v, depth: PPValue(
            "pair", [printer.pvalue(v.a, depth + 1), printer.pvalue(v.b, depth + 1)]
        ),
    )
    assert printer.pformat(R(a=1, b="x")) == "pair\n  1\n  'x'"


def test_offset() -> None:
    assert PPrinter(offset=4).pformat([1, 2]) == "[\n    1\n    2]"


def test_merge_rule_joins_exactly_two_lines() -> None:
    tree = PPValue(
        "top",
        [
            PPValue("one", [PPValue("child")]),
            PPValue("two", [PPValue("a"), PPValue("b")]),
        ],
        open=":",
        close="!",
    )
    printer = PPrinter()
    printer.register(PPValue, lambda v, depth: v)
    assert printer.pformat(tree) == "top:\n  one child\n  two\n    a\n    b!"
    assert printer.pformat(tree.contents[0]) == "one child"
    assert printer.pformat(PPValue("x", [PPValue("y")], "[", "]")) == "x[ y]"


def test_ref_without_store_is_not_available() -> None:
    ref: Ref[Any] = Ref("ab" * 32)
    assert pformat(ref) == "-> <Ref ababab (not available: no store is active)>"
    assert pformat(R(a=ref, b=None)) == (
        "R:\n  a: -> <Ref ababab (not available: no store is active)>\n  b: None"
    )


def test_ref_missing_from_store_is_not_available() -> None:
    with enact.InMemoryStore():
        text = pformat(Ref("cd" * 32))
    assert re.fullmatch(r"-> <Ref cdcdcd \(not available: not in store .*\)>", text)


def test_cached_ref_renders_without_store() -> None:
    with enact.InMemoryStore():
        ref = enact.commit(enact.Int(7))
    assert pformat(ref) == f"-> Int(value=7)#{short(ref)}"


def test_ref_of_unregistered_type_is_not_available(tmp_path: pathlib.Path) -> None:
    @dataclasses.dataclass
    class Unregistered(enact.Resource):
        x: int

    # A store object reads back classes it has itself encoded, so
    # read through a second store object on the same directory.
    with enact.FileStore(tmp_path):
        ref = enact.commit(Unregistered(x=1))
    with enact.FileStore(tmp_path):
        text = pformat(Ref(ref.digest))  # No cache: must decode from the store.
    assert text == (
        f"-> <Ref {short(ref)} (not available: type "
        f"{Unregistered.type_name()} is not registered)>"
    )


# -- invocation_summary of registered functions ---------------------------------

FACES = iter(())


@enact.register
def roll_die(sides: int) -> int:
    return min(next(FACES), sides)


@enact.register
def roll_dice(n: int, sides: int = 6) -> int:
    return sum(roll_die(sides) for _ in range(n))


@enact.register
def greet(name: str, *, loud: bool = False) -> str:
    return name.upper() if loud else name


@dataclasses.dataclass
class Counter(enact.Resource):
    count: int = 0

    @enact.register
    def add(self, amount: int) -> int:
        self.count += amount
        return self.count


@enact.register
def refuse(reason: str) -> None:
    raise ValueError(reason)


def test_summary_names_functions_and_shows_their_arguments() -> None:
    global FACES
    FACES = iter([5, 2, 4])
    with enact.InMemoryStore():
        invocation = enact.invoke(roll_dice, (3,))
        assert enact.invocation_summary(invocation) == (
            "->roll_dice(3) = 11\n  ->roll_die(6) = 5\n  ->roll_die(6) = 2\n"
            "  ->roll_die(6) = 4"
        )
        hidden = enact.invocation_summary(invocation, show_input=False, max_depth=0)
        assert hidden == "->roll_dice(...) = 11\n  ... 3 calls"


def test_summary_of_keywords_methods_and_errors() -> None:
    with enact.InMemoryStore():
        greeting = enact.invoke(greet, ("Ada",), {"loud": True})
        assert enact.invocation_summary(greeting) == "->greet('Ada', loud=True) = 'ADA'"
        counter = Counter(1)
        added = enact.invoke(counter.add, (2,))
        assert enact.invocation_summary(added) == "->Counter.add(2) = 3"
        refused = enact.invoke(refuse, ("no dice",))
        assert enact.invocation_summary(refused) == (
            "->refuse('no dice') raised ValueError: no dice"
        )
