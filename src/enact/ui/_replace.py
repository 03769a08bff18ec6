"""Forking with changed settings or an edited input, for the UI and the API.

A run's component is a tree of components (a component's fields may hold
others). :func:`held_components` lists them with their *settings*: the
fields that are plain text, numbers or flags (a model's name, a
temperature, a prompt). :func:`replacements` turns changed settings into
``{old: new}`` for ``Run.fork(replace=...)``, each value checked against its
field's annotation as answers are. :func:`input_prefill` shows a run's input
in the input form, so that a person edits it rather than typing it again.
:mod:`enact.ui._fork_pages` takes the run page's "Fork with changes" forms.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from enact import runs
from enact._invocations.invokables import InvokableBase
from enact._runs.answers import answer_fields, build_answer
from enact._runs.errors import WrongAnswerType
from enact.ui import _forms
from enact.ui._forms import TypeForm

__all__ = [
    "INPUT_PREFIX",
    "SETTING_KINDS",
    "Held",
    "Setting",
    "SettingsError",
    "changed_settings",
    "fork_forms",
    "held_components",
    "input_prefill",
    "replacements",
]

#: The field kinds a person can change in a form (see ``answer_fields``).
SETTING_KINDS = ("text", "int", "float", "bool")


class SettingsError(ValueError):
    """Changed settings that cannot be applied: names the component and field."""


@dataclasses.dataclass(frozen=True)
class Setting:
    """One changeable field of a component: its name, kind and value now."""

    name: str
    kind: str
    value: Any


@dataclasses.dataclass(frozen=True)
class Held:
    """A component in a run's component tree.

    Attributes:
        where: The field path from the run's component (``""``: the run's
            component itself; ``"model"``; ``"steps.1"`` for a list's item).
        name: Its class name.
        component: The component itself.
        settings: Its changeable fields.
    """

    where: str
    name: str
    component: Any
    settings: tuple[Setting, ...]


def _settings(component: Any) -> tuple[Setting, ...]:
    if not dataclasses.is_dataclass(component):
        return ()
    return tuple(
        Setting(field.name, field.kind, getattr(component, field.name))
        for field in answer_fields(type(component))
        if field.kind in SETTING_KINDS
    )


def held_components(root: Any) -> list[Held]:
    """Every component in ``root``'s fields (and their lists and dicts), root
    first, depth first."""
    found: list[Held] = []

    def visit(value: Any, where: str) -> None:
        if isinstance(value, InvokableBase):
            found.append(Held(where, type(value).__name__, value, _settings(value)))
            if dataclasses.is_dataclass(value):
                for field in dataclasses.fields(value):
                    visit(getattr(value, field.name), _join(where, field.name))
        elif isinstance(value, list | tuple):
            for index, item in enumerate(value):
                visit(item, _join(where, str(index)))
        elif isinstance(value, dict):
            for key, item in value.items():
                visit(item, _join(where, str(key)))

    visit(root, "")
    return found


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def replacements(root: Any, changes: Mapping[str, Mapping[str, Any]]) -> dict[Any, Any]:
    """``{old: new}`` for the components at ``changes``' paths, with the
    settings given there changed; components whose settings end up as they
    were are left out.

    Args:
        root: The run's component.
        changes: By component path (as in :class:`Held`), the new values of
            some of its settings, in JSON form.

    Raises:
        SettingsError: for a path that holds no component, a field that is
            not a setting, or a value that does not fit its field.
    """
    held = {each.where: each for each in held_components(root)}
    swaps: dict[Any, Any] = {}
    for where, given in changes.items():
        found = held.get(where)
        if found is None:
            known = ", ".join(repr(w) for w in held) or "none"
            raise SettingsError(
                f"The run's component holds no component at {where!r} "
                f"(components at: {known})."
            )
        names = {setting.name for setting in found.settings}
        unknown = [name for name in given if name not in names]
        if unknown:
            listed = ", ".join(sorted(names)) or "none"
            raise SettingsError(
                f"{found.name} at {where or 'the top'} has no setting "
                f"{unknown[0]!r} (its settings: {listed})."
            )
        component = found.component
        values = {
            field.name: getattr(component, field.name)
            for field in answer_fields(type(component))
        }
        values.update(given)
        try:
            new = build_answer(
                type(component),
                values,
                subject=f"The settings of {found.name} at {where or 'the top'}",
            )
        except WrongAnswerType as error:
            raise SettingsError(str(error)) from None
        if new != component:
            swaps[component] = new
    return swaps


def input_prefill(form: TypeForm, value: Any) -> dict[str, str]:
    """What the fields of ``form`` show for ``value`` (a run's input)."""
    if form.shape == "value":
        field = form.fields[0]
        raw = getattr(value, "value", value)
        if field.kind == "bool":
            return {field.name: "on"} if raw else {}
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8", "replace")
        return {field.name: str(raw)}
    if form.shape == "fields" and dataclasses.is_dataclass(value):
        shown: dict[str, str] = {}
        for field in form.fields:
            name = field.name.rsplit(".", 1)[-1]
            current = getattr(value, name, None)
            if field.kind == "bool":
                if current:
                    shown[field.name] = "on"
            elif field.kind in ("text", "textarea", "int", "float"):
                shown[field.name] = "" if current is None else str(current)
        return shown
    return {}


# -- the run page's fork forms -------------------------------------------------

_SETTINGS_PREFIX = "s/"
#: The prefix of the fork-with-input form's fields.
INPUT_PREFIX = "fi."
_FIELD_KINDS = {"text": "text", "int": "int", "float": "float", "bool": "bool"}


def _setting_name(where: str, name: str) -> str:
    return f"{_SETTINGS_PREFIX}{where}/{name}"


def fork_forms(run: runs.Run) -> dict[str, Any] | None:
    """What the run page's "Fork with changes" forms show: every component
    with settings, each setting's input holding its value now, and the input
    form holding the run's input (None if the request cannot be read here)."""
    try:
        request = run.info().request.checkout()
        component, value = request.invokable(), request.input()
    except Exception:  # an unregistered class, say: no forms
        return None
    settings = []
    for held in held_components(component):
        if not held.settings:
            continue
        fields = [
            _forms.FormField(
                _setting_name(held.where, s.name),
                s.name,
                _FIELD_KINDS[s.kind],
                ("on" if s.value else "") if s.kind == "bool" else str(s.value),
            )
            for s in held.settings
        ]
        settings.append({"where": held.where, "name": held.name, "fields": fields})
    input_type = component.get_input_type()
    input_form = None
    if input_type is not None:
        blank = _forms.form_for(input_type.type_id(), INPUT_PREFIX)
        input_form = _forms.form_for(
            input_type.type_id(), INPUT_PREFIX, input_prefill(blank, value)
        )
    return {"settings": settings, "input": input_form}


def _read_setting(setting: Setting, raw: str | None) -> Any:
    if setting.kind == "bool":
        return raw is not None
    text = raw or ""
    if setting.kind == "text":
        return text
    try:
        return int(text.strip()) if setting.kind == "int" else float(text.strip())
    except ValueError:
        word = "whole number" if setting.kind == "int" else "number"
        raise SettingsError(f"{setting.name}: {text!r} is not a {word}.") from None


def changed_settings(root: Any, form: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """The settings a submitted form changes, by component path.

    Raises:
        SettingsError: for a value that is not of its setting's kind.
    """
    changes: dict[str, dict[str, Any]] = {}
    for held in held_components(root):
        for setting in held.settings:
            name = _setting_name(held.where, setting.name)
            if setting.kind != "bool" and name not in form:
                continue  # not in the form: left as it is
            value = _read_setting(setting, form.get(name))
            if value != setting.value:
                changes.setdefault(held.where, {})[setting.name] = value
    return changes
