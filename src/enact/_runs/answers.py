"""Answers to input requests: checking a JSON-like value against a type.

One check serves every way of answering: :func:`enact.runs.answer` from
Python, ``enact answer`` on the command line and the web UI's forms (which
pick their inputs by :func:`field_kind` too). A value that does not fit the
requested type is refused with a message that says what the answer should
look like, e.g. ``a JSON object with fields x (a whole number) and y (a whole
number), e.g. {"x": 1, "y": 2}``.

A dataclass resource's fields are checked by their annotations: ``str``,
``int``, ``float`` and ``bool`` fields must hold values of that kind (a JSON
``1.5`` or ``"a"`` is no ``int``; ``true`` is no number); fields of any other
annotation take any value the class accepts.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from collections.abc import Mapping
from typing import Any

import orjson

from enact._runs.errors import WrongAnswerType
from enact._runs.records import PendingInput
from enact.interfaces import NoneResource, ResourceBase, ResourceError
from enact.resource_registry import Registry, ResourceNotFound

__all__ = [
    "AnswerField",
    "answer_fields",
    "build_answer",
    "describe_answer",
    "field_kind",
    "parse_answer",
]

_KINDS: dict[Any, str] = {str: "text", int: "int", float: "float", bool: "bool"}
_KIND_WORDS = {
    "text": "text",
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "any": "any JSON value",
}
_MISSING: Any = dataclasses.MISSING


def field_kind(hint: Any) -> str | None:
    """The kind of value an annotation asks for.

    Returns:
        ``text``, ``int``, ``float`` or ``bool`` for those annotations, None
        for any other (a resource, a container, a union).
    """
    try:
        return _KINDS.get(hint)
    except TypeError:  # an unhashable annotation
        return None


@dataclasses.dataclass(frozen=True)
class AnswerField:
    """One field of a dataclass resource, as an answer gives it.

    Attributes:
        name: The field's name.
        hint: Its annotation (``Any`` if it does not resolve).
        kind: :func:`field_kind` of the annotation, or ``any``.
        default: Its default value, or ``dataclasses.MISSING`` if required.
    """

    name: str
    hint: Any
    kind: str
    default: Any

    @property
    def required(self) -> bool:
        """Whether an answer must give the field."""
        return self.default is _MISSING


def answer_fields(cls: type) -> list[AnswerField]:
    """The fields an answer of dataclass ``cls`` gives (init fields, in order).

    Fields whose name starts with ``_`` are left to their defaults.
    """
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # an annotation that does not resolve: any value
        hints = {}
    found = []
    for field in dataclasses.fields(cls):
        if not field.init or field.name.startswith("_"):
            continue
        hint = hints.get(field.name, Any)
        if field.default is not dataclasses.MISSING:
            default = field.default
        elif field.default_factory is not dataclasses.MISSING:
            default = field.default_factory()
        else:
            default = _MISSING
        found.append(AnswerField(field.name, hint, field_kind(hint) or "any", default))
    return found


def describe_answer(cls: type[ResourceBase]) -> str:
    """What an answer of type ``cls`` looks like, in words, with an example."""
    builtin = getattr(cls, "_builtin", None)
    if issubclass(cls, NoneResource):
        return "null"
    if builtin is str:
        return 'text, e.g. "yes"'
    if builtin is bytes:
        return 'text (stored as UTF-8 bytes), e.g. "data"'
    if builtin is bool:
        return "true or false"
    if builtin is int:
        return "a whole number, e.g. 3"
    if builtin is float:
        return "a number, e.g. 2.5"
    if not dataclasses.is_dataclass(cls):
        return "a JSON object of its fields"
    fields = answer_fields(cls)
    if not fields:
        return "an empty JSON object, {}"
    words = [
        f"{field.name} ({_KIND_WORDS[field.kind]}"
        f"{'' if field.required else ', optional'})"
        for field in fields
    ]
    listed = " and ".join(
        [", ".join(words[:-1]), words[-1]] if len(words) > 1 else words
    )
    example = json.dumps(
        {field.name: _example(field, n) for n, field in enumerate(fields, 1)}
    )
    return f"a JSON object with fields {listed}, e.g. {example}"


def _example(field: AnswerField, n: int) -> Any:
    if field.kind == "int":
        return n
    if field.kind == "float":
        return n + 0.5
    if field.kind == "text":
        return "text"
    if field.kind == "bool":
        return True
    if not field.required:
        try:
            json.dumps(field.default)
        except (TypeError, ValueError):
            return None
        return field.default
    return None


def parse_answer(pending: PendingInput, raw: Any) -> ResourceBase:
    """Builds an answer of the requested type from a JSON-like value.

    ``raw`` may be the resource itself, a plain value for the built-in value
    types (a string for ``Str``; a number, or its text, for ``Int`` and
    ``Float``), or a dict of field values (or its JSON text) for a resource
    class. The fields of a dataclass resource are checked against their
    annotations (``int``, ``float``, ``str``, ``bool``).

    Raises:
        WrongAnswerType: if ``raw`` cannot be turned into the requested type,
            saying what the answer should look like.
        ResourceNotFound: if the requested type is not registered in this
            process (import the module that defines it).
    """
    try:
        wanted = Registry.get().lookup(pending.requested_type)
    except ResourceNotFound:
        raise ResourceNotFound(
            pending.requested_type,
            "the requested answer type is not registered in this process; import "
            "the module that defines it",
        ) from None
    if isinstance(raw, ResourceBase):
        if not isinstance(raw, wanted):
            raise WrongAnswerType(
                f"The request at {pending.key} asks for a {wanted.__qualname__}, "
                f"got a {type(raw).__qualname__}.",
                pending.run_id,
            )
        return raw
    return build_answer(wanted, raw, pending.run_id)


def build_answer(
    wanted: type[ResourceBase],
    raw: Any,
    run_id: str | None = None,
    *,
    subject: str | None = None,
) -> ResourceBase:
    """Makes a ``wanted`` from a JSON-like value (or JSON text), checked.

    Args:
        wanted: The class to make.
        raw: The value: see :func:`parse_answer`.
        run_id: The run the answer is for (for the error).
        subject: What the error calls the value (default: ``The answer for
            <class>``).

    Raises:
        WrongAnswerType: if ``raw`` does not fit, saying what would.
    """
    subject = subject or f"The answer for {wanted.__qualname__}"
    try:
        value = _build(wanted, raw)
    except _Misfit as misfit:
        raise WrongAnswerType(
            f"{subject} must be {describe_answer(wanted)}; {misfit}.", run_id
        ) from None
    if not isinstance(value, wanted):  # a from_fields that made something else
        raise WrongAnswerType(
            f"{subject} must be {describe_answer(wanted)}; got a "
            f"{type(value).__qualname__}.",
            run_id,
        )
    return value


class _Misfit(Exception):
    """Why a value does not fit (the second half of the message)."""


def _shown(raw: Any) -> str:
    try:
        text = json.dumps(raw)
    except (TypeError, ValueError):
        text = repr(raw)
    return text if len(text) <= 80 else text[:77] + "..."


def _from_json_text(raw: str | bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        raise _Misfit(f"got {text[:80]!r}, which is not JSON") from None


def _build(wanted: type[ResourceBase], raw: Any) -> ResourceBase:
    if issubclass(wanted, NoneResource):
        if raw is not None and raw != "null":
            raise _Misfit(f"got {_shown(raw)}")
        return wanted()
    builtin = getattr(wanted, "_builtin", None)
    if builtin is not None:
        return _build_value(wanted, builtin, raw)
    if isinstance(raw, (str, bytes)):
        raw = _from_json_text(raw)
    if not isinstance(raw, Mapping):
        raise _Misfit(f"got {_shown(raw)}")
    if dataclasses.is_dataclass(wanted):
        return _build_dataclass(wanted, raw)
    try:
        return wanted.from_fields(raw)
    except (ResourceError, TypeError, ValueError, KeyError) as error:
        raise _Misfit(f"{_shown(raw)} does not fit: {error}") from None


def _build_value(wanted: type[ResourceBase], builtin: type, raw: Any) -> ResourceBase:
    if builtin is str:
        if not isinstance(raw, str):
            raise _Misfit(f"got {_shown(raw)}")
        return wanted(raw)  # type: ignore[call-arg]
    if builtin is bytes:
        data = raw.encode("utf-8") if isinstance(raw, str) else raw
        if not isinstance(data, bytes):
            raise _Misfit(f"got {_shown(raw)}")
        return wanted(data)  # type: ignore[call-arg]
    if isinstance(raw, str):
        raw = _from_json_text(raw)
    return wanted(_checked(builtin_kind(builtin), raw))  # type: ignore[call-arg]


def builtin_kind(builtin: type) -> str:
    """The kind of a built-in value type's value (``int`` for ``Int``)."""
    return _KINDS.get(builtin, "any")


def _checked(kind: str, value: Any, field: str | None = None) -> Any:
    """``value`` if it is of ``kind`` (an int as float for ``float``)."""
    where = f"field {field} " if field is not None else ""
    if kind == "any":
        return value
    if kind == "bool":
        if isinstance(value, bool):
            return value
    elif isinstance(value, bool):
        pass  # JSON true is no number and no text
    elif kind == "int":
        if isinstance(value, int):
            return int(value)
    elif kind == "float":
        if isinstance(value, (int, float)):
            return float(value)
    elif kind == "text" and isinstance(value, str):
        return value
    raise _Misfit(f"{where}got {_shown(value)}, not {_KIND_WORDS[kind]}")


def _build_dataclass(wanted: type[ResourceBase], raw: Mapping[Any, Any]) -> Any:
    fields = answer_fields(wanted)
    known = {field.name for field in fields}
    unknown = [name for name in raw if name not in known]
    if unknown:
        listed = ", ".join(map(str, unknown))
        noun = "field" if len(unknown) == 1 else "fields"
        raise _Misfit(f"it has no {noun} {listed}")
    missing = [f.name for f in fields if f.required and f.name not in raw]
    if missing:
        noun = "field" if len(missing) == 1 else "fields"
        raise _Misfit(f"{noun} {', '.join(missing)} missing in {_shown(raw)}")
    values = {
        field.name: _checked(field.kind, raw[field.name], field.name)
        for field in fields
        if field.name in raw
    }
    try:
        return wanted.from_fields(values)
    except (ResourceError, TypeError, ValueError, KeyError) as error:
        raise _Misfit(f"{_shown(raw)} does not fit: {error}") from None
