"""The tree records and the generated forms, without a server."""

from __future__ import annotations

import subprocess
import sys

import pytest

import enact
from enact.ui import _forms, _tree
from ui.flows import SCRIPT, UIAskName, UIDraw, UIDrawThree, UIFail, UIPoint, UIRepeat


def test_tree_of_an_invocation_shows_inputs_outputs_and_paths() -> None:
    with enact.InMemoryStore():
        invocation = UIDrawThree(UIDraw()).invoke(enact.commit(enact.Str("a")))
        tree = _tree.build_tree(invocation, None, {(1,): (10.0, 10.5)})
    assert tree.name == "UIDrawThree"
    assert tree.input_text == "a" and tree.input_short == "'a'"
    assert tree.output_text == str(invocation.get_output())
    assert [child.path for child in tree.children] == [(0,), (1,), (2,)]
    assert tree.children[1].duration == 0.5
    assert tree.children[0].duration is None
    assert tree.children[2].output_text == str(invocation.get_child(2).get_output())
    assert tree.children[0].digest == invocation.response().children[0].digest
    assert tree.complete


def test_tree_shows_exceptions_and_input_requests() -> None:
    with enact.InMemoryStore():
        failed = UIFail().invoke(enact.commit(enact.Str("x")))
        asked = UIAskName().invoke(enact.commit(enact.Str("y")))
        failed_tree = _tree.build_tree(failed, None)
        asked_tree = _tree.build_tree(asked, None)
    assert failed_tree.exception_short == "ValueError: no good: x"
    assert "no good: x" in (failed_tree.exception_text or "")
    assert failed_tree.output_text is None and failed_tree.raised_here
    request_node = asked_tree.children[0]
    assert request_node.asked is not None
    assert request_node.asked.type_name == "Str"
    assert request_node.asked.context == "Please name the topic"
    assert not asked_tree.raised_here  # it came from the child


def test_tree_stops_at_the_node_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_tree, "MAX_NODES", 3)
    with enact.InMemoryStore():
        invocation = UIDrawThree(UIDraw()).invoke(enact.commit(enact.Str("a")))
        tree = _tree.build_tree(invocation, None)
    assert len(tree.children) == 2 and tree.hidden == 1


def test_unreadable_parts_become_notes() -> None:
    with enact.InMemoryStore():
        invocation = UIDrawThree(UIDraw()).invoke(enact.commit(enact.Str("a")))
        response = invocation.response()
        missing = enact.Ref("0" * 64)  # in no store
        broken = enact.Response(
            response.invokable,
            response.output,
            None,
            False,
            [response.children[0], missing],
        )
        tree = _tree.build_tree(
            enact.Invocation(invocation.request, enact.commit(broken)), None
        )
    assert tree.name == "UIDrawThree" and tree.problem is None
    assert tree.children[0].problem is None
    assert tree.children[1].digest == missing.digest
    assert "cannot be read here: NotFound" in (tree.children[1].problem or "")


def test_text_keeps_strings_as_they_are_and_cuts_long_values() -> None:
    assert _tree.text(enact.Str(SCRIPT)) == SCRIPT
    assert _tree.text(enact.Int(3)) == "3"
    assert _tree.text(enact.Bytes(b"abc")) == "<3 bytes>"
    assert _tree.text(None) == "None"
    long = _tree.text(enact.Str("x" * (_tree.MAX_TEXT + 5)))
    assert long.endswith("(5 more characters)")
    assert len(_tree.short(enact.Str("y" * 100))) == 60


def test_forms_for_value_types() -> None:
    form = _forms.form_for(enact.Int.type_id(), "a.")
    assert form.shape == "value" and form.fields[0].kind == "int"
    assert _forms.read_form(form, {"a.value": " 12 "}) == 12
    with pytest.raises(_forms.FormError, match="not a whole number"):
        _forms.read_form(form, {"a.value": "1.5"})
    with pytest.raises(_forms.FormError, match="a value is needed"):
        _forms.read_form(form, {"a.value": ""})
    text = _forms.form_for(enact.Str.type_id(), "a.", label="Your answer")
    assert text.fields[0].kind == "textarea" and text.fields[0].label == "Your answer"
    assert _forms.read_form(text, {"a.value": ""}) == ""
    floats = _forms.form_for(enact.Float.type_id(), "a.")
    assert _forms.read_form(floats, {"a.value": "2.5"}) == 2.5
    none = _forms.form_for(enact.NoneResource.type_id(), "i.")
    assert none.shape == "none" and _forms.read_form(none, {}) is None


def test_forms_for_resource_classes_have_one_input_per_field() -> None:
    form = _forms.form_for(UIPoint.type_id(), "a.")
    assert form.shape == "fields"
    assert [(f.name, f.kind, f.required) for f in form.fields] == [
        ("a.x", "int", True),
        ("a.y", "int", True),
        ("a.label", "text", False),
    ]
    raw = _forms.read_form(form, {"a.x": "1", "a.y": "2", "a.label": "p"})
    assert raw == {"x": 1, "y": 2, "label": "p"}
    assert _forms.build(UIPoint, raw) == UIPoint(1, 2, "p")


def test_component_forms_prefill_defaults_and_offer_components() -> None:
    form = _forms.form_for(UIRepeat.type_id(), "c.")
    fields = {field.name: field for field in form.fields}
    assert fields["c.times"].value == "2" and fields["c.times"].kind == "int"
    assert fields["c.separator"].value == " "
    assert fields["c.shout"].kind == "bool" and fields["c.shout"].value == ""
    raw = _forms.read_form(form, {"c.times": "3", "c.separator": "+", "c.shout": "on"})
    assert _forms.build(UIRepeat, raw) == UIRepeat(3, "+", True)
    # A field holding a component offers those that need no arguments.
    three = _forms.form_for(UIDrawThree.type_id(), "c.")
    draw = three.fields[0]
    assert draw.kind == "choice"
    names = [choice.label for choice in draw.choices]
    assert "UIDraw" in names and "UIDrawThree" not in names
    assert draw.value == "ui.flows.UIDraw"  # preselected: named like the field
    built = _forms.build(UIDrawThree, _forms.read_form(three, {"c.draw": draw.value}))
    assert built == UIDrawThree(UIDraw())
    with pytest.raises(_forms.FormError, match="not one of the choices"):
        _forms.read_form(three, {"c.draw": "os.system"})


def test_unregistered_types_get_a_json_form() -> None:
    type_id = '{"name": "elsewhere.Thing"}'
    form = _forms.form_for(type_id, "a.")
    assert form.shape == "json" and form.type_name == "elsewhere.Thing"
    assert _forms.read_form(form, {"a.json": '{"a": [1, 2]}'}) == {"a": [1, 2]}
    with pytest.raises(_forms.FormError, match="not valid JSON"):
        _forms.read_form(form, {"a.json": "{"})


def test_build_reports_what_does_not_fit() -> None:
    with pytest.raises(_forms.FormError, match="times must be 0 or more"):
        _forms.build(UIRepeat, {"times": -1})
    with pytest.raises(_forms.FormError, match=r"A UIPoint must be .* no field z"):
        _forms.build(UIPoint, {"z": 1})
    with pytest.raises(_forms.FormError, match='field x got "a", not a whole'):
        _forms.build(UIPoint, {"x": "a", "y": 1})


def test_components_lists_registered_invokables_only() -> None:
    names = dict(_forms.components())
    assert names["ui.flows.UIRepeat"] is UIRepeat
    assert not any(name.startswith("enact.invocations") for name in names)
    assert "ui.flows.UIPoint" not in names  # a resource, not a component


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )


def test_import_enact_does_not_import_jinja2() -> None:
    result = _python("import sys, enact; print('jinja2' in sys.modules)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_import_enact_ui_without_jinja2_names_the_extra() -> None:
    result = _python(
        "import sys; sys.modules['jinja2'] = None\n"
        "try:\n    import enact.ui\nexcept ImportError as error:\n    print(error)"
    )
    assert result.returncode == 0, result.stderr
    assert "pip install 'enact[ui]'" in result.stdout
