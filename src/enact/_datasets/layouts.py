"""The journal records enact writes, read for the digests they name.

A call's three records (its invocation, request and response) are read for
the digests they name alone. A record's canonical JSON has one spelling, so
a record of the layout enact writes is matched as text by a pattern (the
digests picked out without building its JSON tree); one the patterns do not
match (an older layout, a custom ref class) is parsed as JSON, and one of
another layout still is decoded in full by the caller.

A batch of records is matched in one scan: their texts joined by newlines
(canonical JSON has none) and matched a line each. So is a batch of values
for the plain ``Int`` layout, whose JSON text is its one field.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import orjson

from enact._invocations.records import Invocation, Request, Response
from enact.interfaces import ResourceBase
from enact.references import Ref
from enact.resource_types import Int

__all__ = [
    "INVOCATION",
    "REQUEST",
    "RESPONSE",
    "Kind",
    "OtherLayout",
    "int_texts",
    "parse_all",
]

_REF = Ref.type_id()
# An Int of more digits is read the usual way (orjson writes 64-bit ints).
_INT_DIGITS = 18


class OtherLayout(Exception):
    """A record that is not of the layout read as plain JSON."""


def _ref(node: Any) -> str:
    if type(node) is dict and len(node) == 2 and node.get("#res") == _REF:
        digest = node.get("digest")
        if type(digest) is str:
            return digest
    raise OtherLayout


def _maybe_ref(node: Any) -> str | None:
    return None if node is None else _ref(node)


_TYPE_IDS: dict[type[ResourceBase], str] = {}


def _fields(tree: Any, cls: type[ResourceBase], names: frozenset[str]) -> Any:
    type_id = _TYPE_IDS.get(cls)
    if type_id is None:
        type_id = _TYPE_IDS[cls] = cls.type_id()
    if type(tree) is not dict or tree.get("#res") != type_id:
        raise OtherLayout
    if tree.keys() - {"#res"} != names:
        raise OtherLayout
    return tree


_INVOCATION = frozenset({"request", "response"})
_REQUEST = frozenset({"invokable", "input"})
_RESPONSE = frozenset({"children", "invokable", "output", "raised", "raised_here"})


def _invocation(tree: Any) -> tuple[str, str]:
    fields = _fields(tree, Invocation, _INVOCATION)
    return _ref(fields["request"]), _ref(fields["response"])


def _request(tree: Any) -> tuple[str, str]:
    fields = _fields(tree, Request, _REQUEST)
    return _ref(fields["invokable"]), _ref(fields["input"])


def _response(tree: Any) -> tuple[str | None, str | None, tuple[str, ...]]:
    fields = _fields(tree, Response, _RESPONSE)
    children = fields["children"]
    if type(children) is not list:
        raise OtherLayout
    return (
        _maybe_ref(fields["output"]),
        _maybe_ref(fields["raised"]),
        tuple(_ref(child) for child in children),
    )


class _Patterns:
    """The three records of the layout enact writes, as patterns of their text.

    A record's canonical JSON has one spelling: its type id, then its fields
    in key order, each ref ``{"#res": <ref type id>, "digest": "<hex>"}``.
    Matching that text picks the digests out without building the JSON
    tree; a record the patterns do not match is parsed as JSON (and a match
    gives what that parse would give).
    """

    def __init__(self, ref_type: str) -> None:
        self.ref_type = ref_type
        esc = re.escape

        def head(type_id: str) -> str:
            return esc('{"#res":' + orjson.dumps(type_id).decode() + ",")

        def ref(capture: bool) -> str:
            digest = "([0-9a-f]{64})" if capture else "[0-9a-f]{64}"
            return head(ref_type) + esc('"digest":"') + digest + esc('"}')

        def record(cls: type[ResourceBase], *parts: str) -> re.Pattern[str]:
            return re.compile(head(cls.type_id()) + "".join(parts) + esc("}"))

        plain = ref(False)
        self.invocation = record(
            Invocation,
            esc('"request":'),
            ref(True),
            esc(',"response":'),
            ref(True),
        )
        self.request = record(
            Request, esc('"input":'), ref(True), esc(',"invokable":'), ref(True)
        )
        self.response = record(
            Response,
            esc('"children":['),
            f"((?:{plain}(?:,{plain})*)?)",
            esc('],"invokable":'),
            plain,
            esc(',"output":'),
            f"(?:{ref(True)}|null)",
            esc(',"raised":'),
            f"(?:{ref(True)}|null)",
            esc(',"raised_here":'),
            "(?:true|false)",
        )
        self.digest = re.compile(esc('"digest":"') + "([0-9a-f]{64})")

        # The most common spelling of each, with two digests in fixed places.
        def text(type_id: str) -> str:
            return '{"#res":' + orjson.dumps(type_id).decode() + ","

        ref_text = text(ref_type) + '"digest":"'
        self.invocations = _Fixed(
            text(Invocation.type_id()) + '"request":' + ref_text,
            '"},"response":' + ref_text,
            '"}}',
        )
        self.requests = _Fixed(
            text(Request.type_id()) + '"input":' + ref_text,
            '"},"invokable":' + ref_text,
            '"}}',
        )
        # A call that returned and made no calls.
        self.leaves = _Fixed(
            text(Response.type_id()) + '"children":[],"invokable":' + ref_text,
            '"},"output":' + ref_text,
            '"},"raised":null,"raised_here":false}',
        )
        # An Int's JSON text, or the empty string for any other value.
        self.ints = re.compile(
            "^(?:"
            + head(Int.type_id())
            + esc('"value":')
            + f"(-?(?:0|[1-9][0-9]{{0,{_INT_DIGITS - 1}}}))"
            + esc("}")
            + "$)?.*$",  # the Int's text only if that is the whole line
            re.MULTILINE,
        )


_PATTERNS: list[_Patterns] = []


def _patterns() -> _Patterns:
    if not _PATTERNS or _PATTERNS[0].ref_type != _REF:
        _PATTERNS[:] = [_Patterns(_REF)]
    return _PATTERNS[0]


def _parsed_invocation(text: str) -> tuple[str, str]:
    match = _patterns().invocation.fullmatch(text)
    if match is None:
        return _invocation(orjson.loads(text))
    request, response = match.groups()
    return request, response


def _parsed_request(text: str) -> tuple[str, str]:
    match = _patterns().request.fullmatch(text)
    if match is None:
        return _request(orjson.loads(text))
    given, invokable = match.groups()
    return invokable, given


def _parsed_response(text: str) -> tuple[str | None, str | None, tuple[str, ...]]:
    patterns = _patterns()
    match = patterns.response.fullmatch(text)
    if match is None:
        return _response(orjson.loads(text))
    children, output, raised = match.groups()
    return output, raised, tuple(patterns.digest.findall(children))


def _decoded_invocation(record: Any) -> tuple[str, str]:
    return record.request.digest, record.response.digest


def _decoded_request(record: Any) -> tuple[str, str]:
    return record.invokable.digest, record.input.digest


def _decoded_response(record: Any) -> tuple[str | None, str | None, tuple[str, ...]]:
    output = None if record.output is None else record.output.digest
    raised = None if record.raised is None else record.raised.digest
    return output, raised, tuple(child.digest for child in record.children)


class _Fixed:
    """A record's text with two digests: ``head``, a digest, ``middle``, a
    digest, ``tail``, matched with string comparisons (a regular expression
    steps through a record's 300 characters one at a time)."""

    def __init__(self, head: str, middle: str, tail: str) -> None:
        self.head, self.middle, self.tail = head, middle, tail
        self.first = len(head)
        self.second = self.first + 64 + len(middle)
        self.length = self.second + 64 + len(tail)

    def match(self, lines: list[str]) -> list[tuple[str, str] | None]:
        """Each line's two digests, or None for a line of another spelling."""
        head, middle, tail, length = self.head, self.middle, self.tail, self.length
        first, second, after = self.first, self.second, self.first + 64
        found = [
            (line[first:after], line[second : second + 64])
            if len(line) == length
            and line.startswith(head)
            and line.startswith(middle, after)
            and line.endswith(tail)
            else None
            for line in lines
        ]
        digests = "".join([a + b for a, b in filter(None, found)])
        # Lowercase hex exactly (fromhex alone also takes capitals, spaces).
        if bytes.fromhex(digests).hex() != digests:
            return [None] * len(lines)
        return found


class Kind(NamedTuple):
    """How to read the digests of one kind of record."""

    #: From its text (raises OtherLayout, or a JSON error).
    parse: Callable[[str], Any]
    #: From the record decoded in full.
    decoded: Callable[[Any], Any]
    #: The fixed spelling most records have.
    fixed: Callable[[_Patterns], _Fixed]
    #: What a match of it gives.
    fixed_result: Callable[[tuple[str, str]], Any]


def _joined(raw: Sequence[bytes]) -> str | None:
    """The texts of ``raw`` a line each; None if one is not text, or not
    one line."""
    joined = b"\n".join(raw)
    if joined.count(b"\n") != len(raw) - 1:
        return None
    try:
        return joined.decode()
    except UnicodeDecodeError:
        return None


INVOCATION = Kind(
    _parsed_invocation,
    _decoded_invocation,
    lambda patterns: patterns.invocations,
    lambda digests: digests,
)
REQUEST = Kind(
    _parsed_request,
    _decoded_request,
    lambda patterns: patterns.requests,
    lambda digests: (digests[1], digests[0]),
)
RESPONSE = Kind(
    _parsed_response,
    _decoded_response,
    lambda patterns: patterns.leaves,
    lambda digests: (digests[1], None, ()),
)


def parse_all(kind: Kind, raw: Sequence[bytes]) -> list[Any] | None:
    """What each of ``raw`` (records of one kind) names: from its text when
    it is of the layout enact writes, else None (decode it). None instead of
    a list if the records cannot be read as text a line each."""
    if not raw:
        return []
    text = _joined(raw)
    if text is None:
        return None
    lines = text.split("\n")
    convert, parse = kind.fixed_result, kind.parse
    found: list[Any] = kind.fixed(_patterns()).match(lines)
    for number, digests in enumerate(found):
        if digests is not None:
            found[number] = convert(digests)
            continue
        try:
            found[number] = parse(lines[number])
        except (OtherLayout, orjson.JSONDecodeError):
            pass  # stays None
    return found


def int_texts(raw: Sequence[bytes]) -> list[str] | None:
    """For each stored value of ``raw``: its JSON text if it is an ``Int`` of
    the canonical layout, else the empty string (None if they cannot be
    matched in one scan)."""
    text = _joined(raw) if raw else None
    if text is None:
        return None
    found = _patterns().ints.findall(text)
    return found if len(found) == len(raw) else None
