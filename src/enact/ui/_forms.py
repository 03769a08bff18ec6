"""HTML forms generated from resource types, and reading them back.

A form is built from a registered class:

- the built-in value types (``Str``, ``Int``, ``Float``, ``Bytes``, a bool
  type): one input of the matching kind;
- a dataclass resource (an invokable's own fields, say): one input per field,
  chosen by the field's annotation (``str``, ``int``, ``float``, ``bool``; a
  field that holds a component offers the registered components that need no
  arguments; anything else is JSON text);
- any other type: one JSON text area.

:func:`read_form` turns the submitted strings back into a JSON-like value
(what :func:`enact.runs.parse_answer` takes); :func:`build` makes the resource.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from collections.abc import Mapping
from typing import Any

from enact._runs.answers import answer_fields, build_answer
from enact._runs.errors import WrongAnswerType
from enact.interfaces import NoneResource, ResourceBase
from enact.invocations import InvokableBase
from enact.resource_registry import Registry
from enact.serialization import DeserializationError, load_json

__all__ = [
    "Choice",
    "FormError",
    "FormField",
    "TypeForm",
    "build",
    "check_required",
    "components",
    "form_for",
    "read_form",
]


class FormError(ValueError):
    """A submitted form cannot be read; the message says which field and why."""


@dataclasses.dataclass(frozen=True)
class Choice:
    """One option of a ``choice`` field."""

    value: str
    label: str


@dataclasses.dataclass(frozen=True)
class FormField:
    """One input of a form.

    Attributes:
        name: The form field's name (a prefix and the resource field's name).
        label: What the page shows next to it.
        kind: ``text``, ``textarea``, ``int``, ``float``, ``bool``, ``json``
            (JSON text), ``any`` (JSON text, or else a string) or ``choice``.
        value: The text to show in it (``"on"`` for a checked bool).
        required: Whether it must be filled.
        choices: The options of a ``choice`` field.
    """

    name: str
    label: str
    kind: str
    value: str = ""
    required: bool = False
    choices: tuple[Choice, ...] = ()


@dataclasses.dataclass(frozen=True)
class TypeForm:
    """The form of one resource type.

    Attributes:
        type_id: The type's registered name.
        type_name: Its class name (or the id, if it is not registered here).
        shape: ``none`` (no input), ``value`` (one input), ``fields`` (one
            input per field) or ``json`` (one JSON text area).
        fields: The inputs.
    """

    type_id: str
    type_name: str
    shape: str
    fields: tuple[FormField, ...]


def _builtin_kind(cls: type) -> str | None:
    builtin = getattr(cls, "_builtin", None)
    if builtin is bool:
        return "bool"
    return {str: "textarea", int: "int", float: "float", bytes: "text"}.get(
        builtin  # type: ignore[arg-type]
    )


def lookup(type_id: str) -> type[ResourceBase] | None:
    """The class registered under ``type_id`` in this process, else None."""
    registry = Registry.get()
    return registry.lookup(type_id) if type_id in registry else None


def form_for(
    type_id: str,
    prefix: str,
    submitted: Mapping[str, str] | None = None,
    label: str | None = None,
) -> TypeForm:
    """The form for values of the type registered as ``type_id``.

    Args:
        type_id: The type id.
        prefix: Prepended to every field name (forms can hold several types).
        submitted: Values the user sent before, shown again (after an error).
        label: The label of a one-input form (the type's name by default).
    """
    cls = lookup(type_id)
    if cls is None:
        return _json_form(type_id, persistent_name(type_id), prefix, submitted)
    name = cls.__name__
    if issubclass(cls, NoneResource):
        return TypeForm(type_id, name, "none", ())
    kind = _builtin_kind(cls)
    if kind is not None:
        field = FormField(
            f"{prefix}value", label or name, kind, required=kind != "bool"
        )
        return TypeForm(type_id, name, "value", (_refill(field, submitted),))
    if dataclasses.is_dataclass(cls):
        fields = tuple(
            _refill(field, submitted) for field in _dataclass_fields(cls, prefix)
        )
        return TypeForm(type_id, name, "fields", fields)
    return _json_form(type_id, name, prefix, submitted)


def check_required(forms: tuple[TypeForm, ...], submitted: Mapping[str, str]) -> None:
    """Refuses a submission that leaves a required field empty.

    The Invoke page's inputs say so to the browser too, which refuses before
    sending; this is the same rule for a client that does not check.

    Raises:
        FormError: naming the first empty required field.
    """
    for form in forms:
        for field in form.fields:
            if field.required and not submitted.get(field.name, "").strip():
                raise FormError(f"{field.label} is required: fill it in to run.")


def _json_form(
    type_id: str, name: str, prefix: str, submitted: Mapping[str, str] | None
) -> TypeForm:
    field = FormField(f"{prefix}json", f"{name} (JSON)", "json", required=True)
    return TypeForm(type_id, name, "json", (_refill(field, submitted),))


def _refill(field: FormField, submitted: Mapping[str, str] | None) -> FormField:
    if submitted is None:
        return field
    if field.kind == "bool":
        return dataclasses.replace(field, value="on" if field.name in submitted else "")
    if field.name in submitted:
        return dataclasses.replace(field, value=submitted[field.name])
    return field


def _dataclass_fields(cls: type, prefix: str) -> list[FormField]:
    fields = []
    for field in answer_fields(cls):
        name = f"{prefix}{field.name}"
        origin = typing.get_origin(field.hint) or field.hint
        if (
            field.kind == "any"
            and isinstance(origin, type)
            and issubclass(origin, InvokableBase)
        ):
            options = tuple(
                Choice(name, cls_.__name__)
                for name, cls_ in components(origin, no_arguments=True)
            )
            fields.append(
                FormField(
                    name,
                    field.name,
                    "choice",
                    _pick(field.name, options),
                    True,
                    options,
                )
            )
            continue
        kind = field.kind
        fields.append(
            FormField(
                name,
                field.name,
                kind,
                _default_text(field.default, kind),
                required=field.required and kind != "bool",
            )
        )
    return fields


def _pick(field_name: str, options: tuple[Choice, ...]) -> str:
    """The option to preselect: one named like the field, else the first."""
    for option in options:
        if field_name.lower().replace("_", "") in option.label.lower():
            return option.value
    return options[0].value if options else ""


_MISSING: Any = dataclasses.MISSING


def _default(field: dataclasses.Field[Any]) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return _MISSING


def _default_text(default: Any, kind: str) -> str:
    if default is _MISSING or (default is None and kind != "any"):
        return ""
    if kind == "bool":
        return "on" if default else ""
    if kind in ("text", "int", "float"):
        return str(default)
    try:
        return json.dumps(default)
    except (TypeError, ValueError):
        return ""


def components(
    base: type = InvokableBase, *, no_arguments: bool = False
) -> list[tuple[str, type[InvokableBase[Any, Any]]]]:
    """The registered components (invokable classes) derived from ``base``.

    Only classes with a declared input type, and not enact's own internals.

    Args:
        base: The class they derive from.
        no_arguments: Only those that can be made without arguments.

    Returns:
        ``(persistent name, class)`` pairs, sorted by class name.
    """
    registry = Registry.get()
    # The registry has no public listing yet; its private map is read-only here.
    types: dict[str, type[ResourceBase]] = dict(vars(registry).get("_types", {}))
    found: dict[str, type[InvokableBase[Any, Any]]] = {}
    for type_id, cls in types.items():
        if not issubclass(cls, base) or not issubclass(cls, InvokableBase):
            continue
        if cls.__module__.startswith("enact._") or cls.get_input_type() is None:
            continue
        if no_arguments and not _constructible(cls):
            continue
        found[persistent_name(type_id)] = cls
    return sorted(found.items(), key=lambda item: (item[1].__name__, item[0]))


def persistent_name(type_id: str) -> str:
    """The persistent name in a type id (``{"name": ..., "digest": ...}``)."""
    try:
        name = json.loads(type_id).get("name")
    except (ValueError, AttributeError):
        return type_id
    return name if isinstance(name, str) else type_id


def _constructible(cls: type) -> bool:
    if not dataclasses.is_dataclass(cls):
        return False
    return all(
        _default(field) is not _MISSING
        for field in dataclasses.fields(cls)
        if field.init
    )


def read_form(form: TypeForm, data: Mapping[str, str]) -> Any:
    """The JSON-like value a submitted form stands for.

    Raises:
        FormError: if a field cannot be read (not a number, bad JSON, ...).
    """
    if form.shape == "none":
        return None
    if form.shape == "value":
        return _read_field(form.fields[0], data)
    if form.shape == "json":
        return _read_field(form.fields[0], data)
    values: dict[str, Any] = {}
    for field in form.fields:
        value = _read_field(field, data)
        if value is not _MISSING:
            values[field.name.rsplit(".", 1)[-1]] = value
    return values


def _read_field(field: FormField, data: Mapping[str, str]) -> Any:
    if field.kind == "bool":
        return field.name in data
    raw = data.get(field.name, "")
    if field.kind in ("text", "textarea"):
        return raw
    if not raw.strip():
        if field.required:
            raise FormError(f"{field.label}: a value is needed.")
        return _MISSING
    try:
        if field.kind == "int":
            return int(raw.strip())
        if field.kind == "float":
            return float(raw.strip())
    except ValueError:
        kind = "whole number" if field.kind == "int" else "number"
        raise FormError(f"{field.label}: {raw!r} is not a {kind}.") from None
    if field.kind == "choice":
        allowed = {choice.value for choice in field.choices}
        if raw not in allowed:
            raise FormError(f"{field.label}: {raw!r} is not one of the choices.")
        return dict(components())[raw]()
    try:
        return load_json(raw)
    except json.JSONDecodeError as error:
        if field.kind == "any":
            return raw  # text that is not JSON is a string
        raise FormError(f"{field.label}: not valid JSON ({error}).") from None
    except DeserializationError as error:  # JSON, but nested too deeply
        raise FormError(f"{field.label}: {error}.") from None


def build(cls: type[ResourceBase], raw: Any) -> Any:
    """Makes a ``cls`` from what :func:`read_form` returned for its form.

    The values are checked as answers are (:mod:`enact._runs.answers`).

    Raises:
        FormError: if the values do not fit the class.
    """
    if issubclass(cls, NoneResource) or raw is None:
        return None
    if isinstance(raw, ResourceBase):
        return raw
    try:
        return build_answer(cls, raw, subject=f"A {cls.__name__}")
    except WrongAnswerType as error:
        raise FormError(str(error)) from None
