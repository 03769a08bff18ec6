"""The Gradio GUI (docs/compatibility.md#gradio-app), driven through its
handlers without a browser.

``GUI.on_run``, ``GUI.on_invocation_change`` and ``GUI.on_continue`` are what
the buttons and the invocation widget call; they return
``{component: gr.update(...)}``. Skipped when the ``gradio`` extra is missing.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import pathlib
import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
gr = pytest.importorskip("gradio")

import enact  # noqa: E402 - after the skip
from enact import gradio as enact_gradio  # noqa: E402
from enact.gradio import (  # noqa: E402
    GUI,
    ImageWidget,
    JsonFieldWidget,
    RefWidget,
    ResourceWidget,
    StrWidget,
)


@enact.typed_invokable(enact.Str, enact.Str)
@dataclasses.dataclass
class Shout(enact.Invokable):
    def call(self, text: enact.Str) -> enact.Str:
        return enact.Str(text.upper() + "!")


@enact.typed_invokable(enact.Str, enact.Str)
@dataclasses.dataclass
class Explode(enact.Invokable):
    def call(self, text: enact.Str) -> enact.Str:
        raise ValueError(f"cannot handle {text}")


@enact.typed_invokable(enact.Str, enact.Str)
@dataclasses.dataclass
class AskName(enact.Invokable):
    def call(self, text: enact.Str) -> enact.Str:
        name = enact.request_input(enact.Str, for_resource=text, context="be polite")
        return enact.Str(f"{text}, {name}")


@enact.typed_invokable(enact.Str, enact.Int)
@dataclasses.dataclass
class AskNumber(enact.Invokable):
    def call(self, text: enact.Str) -> enact.Int:
        return enact.request_input(enact.Int, for_resource=text)


@enact.typed_invokable(enact.Str, enact.Str)
@dataclasses.dataclass
class Counter(enact.Invokable):
    count: int = 0

    def call(self, text: enact.Str) -> enact.Str:
        self.count += 1
        return enact.Str(f"{text} #{self.count}")


@dataclasses.dataclass
class Untyped(enact.Invokable):
    def call(self, text: enact.Str) -> enact.Str:
        return text


@enact.register
@dataclasses.dataclass
class Point(enact.Resource):
    x: int
    label: str
    tags: list[str]


@pytest.fixture(autouse=True)
def close_gradio_event_loops(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Closes the event loops Gradio leaves behind.

    Gradio 5 makes a new event loop whenever it creates an asyncio lock
    outside a running loop (``gradio.utils.safe_get_lock``, at every Blocks)
    and never closes it; with ``filterwarnings = error`` its ResourceWarning
    would fail whichever later test the garbage collector runs in.
    """
    created: list[asyncio.AbstractEventLoop] = []
    new_event_loop = asyncio.new_event_loop

    def tracked() -> asyncio.AbstractEventLoop:
        created.append(new_event_loop())
        return created[-1]

    monkeypatch.setattr(asyncio, "new_event_loop", tracked)
    yield
    for loop in created:
        if not loop.is_running():
            loop.close()
    asyncio.set_event_loop(None)


@pytest.fixture
def store() -> Iterator[enact.Store]:
    with enact.InMemoryStore() as store:
        yield store


def make_gui(invokable: enact.InvokableBase[Any, Any], **kwargs: Any) -> GUI:
    gui = GUI(enact.commit(invokable), **kwargs)
    assert isinstance(gui.blocks, gr.Blocks)
    return gui


def value(updates: dict[Any, Any], component: Any) -> Any:
    return updates[component]["value"]


def visible(updates: dict[Any, Any], component: Any) -> Any:
    return updates[component]["visible"]


def run(gui: GUI, text: str, shown: str = "") -> dict[Any, Any]:
    """Presses Run with ``text`` as input, then shows the new invocation."""
    updates = gui.on_run(text, shown, "")
    ref_id = value(updates, gui.invocation_widget.digest_box)
    return gui.on_invocation_change(ref_id, "")


def shown_invocation(gui: GUI, updates: dict[Any, Any]) -> enact.Invocation:
    ref = enact.Ref.from_id(value(updates, gui.invocation_widget.digest_box))
    return ref.checkout()


class TestImport:
    def test_public_names(self) -> None:
        assert set(enact_gradio.__all__) == {
            "GUI",
            "ResourceWidget",
            "RefWidget",
            "StrWidget",
            "ImageWidget",
            "JsonFieldWidget",
        }

    def test_without_gradio_the_error_names_the_extra(self) -> None:
        script = (
            "import sys; sys.modules['gradio'] = None\n"
            "try:\n"
            "    import enact.gradio\n"
            "except ImportError as error:\n"
            "    print(error)\n"
        )
        result = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        assert "pip install 'enact[gradio]'" in result.stdout
        assert "'gradio'" in result.stdout


class TestRun:
    def test_output_shown_and_invocation_id_held(self, store: enact.Store) -> None:
        gui = make_gui(Shout())
        updates = gui.on_run("hello", "", "")
        ref_id = value(updates, gui.invocation_widget.digest_box)
        invocation = enact.Ref.from_id(ref_id).checkout()
        assert isinstance(invocation, enact.Invocation)
        assert invocation.get_output() == "HELLO!"
        assert "HELLO!" in value(updates, gui.invocation_widget.components[1])

        shown = gui.on_invocation_change(ref_id, "")
        assert value(shown, gui.output_widget.components[0]) == "HELLO!"
        assert value(shown, gui.input_widget.components[0]) == "hello"
        assert visible(shown, gui._output_area)
        assert not visible(shown, gui._exception_box)
        assert not visible(shown, gui._request_area)

    def test_empty_input_does_nothing(self, store: enact.Store) -> None:
        gui = make_gui(Shout())
        assert gui.on_run("", "", "") == {}

    def test_exception_shown(self, store: enact.Store) -> None:
        gui = make_gui(Explode())
        shown = run(gui, "bad")
        assert visible(shown, gui._exception_box)
        text = value(shown, gui._exception_box)
        assert "ValueError: cannot handle bad" in text
        assert not visible(shown, gui._output_area)
        assert not visible(shown, gui._request_area)

    def test_exception_text_is_str_of_the_exception(self, store: enact.Store) -> None:
        gui = make_gui(Explode())
        updates = gui.on_run("x", "", "")
        shown = gui.on_invocation_change(
            value(updates, gui.invocation_widget.digest_box)
        )
        exception = shown_invocation(gui, updates).get_raised()
        assert value(shown, gui._exception_box) == str(exception)

    def test_stateful_invokable_continues_from_its_snapshot(
        self, store: enact.Store
    ) -> None:
        gui = make_gui(Counter())
        first = gui.on_run("a", "", "")
        first_id = value(first, gui.invocation_widget.digest_box)
        assert shown_invocation(gui, first).get_output() == "a #1"
        second = gui.on_run("b", first_id, "")
        assert shown_invocation(gui, second).get_output() == "b #2"
        shown = gui.on_invocation_change(
            value(second, gui.invocation_widget.digest_box), ""
        )
        assert "count=2" in value(shown, gui._details).replace(" ", "")
        # Without a shown invocation, Run starts from the original invokable.
        fresh = gui.on_run("c", "", "")
        assert shown_invocation(gui, fresh).get_output() == "c #1"

    def test_handlers_run_in_the_store_current_when_built(self) -> None:
        with enact.InMemoryStore():
            gui = make_gui(Shout())
        handlers = {f.fn.__name__: f.fn for f in gui.blocks.fns.values() if f.fn}
        # No store is active here: the wired handlers bring their own.
        updates = handlers["on_run"]("hi", "", "")
        ref_id = value(updates, gui.invocation_widget.digest_box)
        shown = handlers["on_invocation_change"](ref_id, "")
        assert value(shown, gui.output_widget.components[0]) == "HI!"


class TestInputRequests:
    def test_request_shown_then_continued(self, store: enact.Store) -> None:
        gui = make_gui(AskName())
        updates = gui.on_run("Hello", "", "")
        ref_id = value(updates, gui.invocation_widget.digest_box)
        shown = gui.on_invocation_change(ref_id, "")
        assert visible(shown, gui._request_area)
        assert value(shown, gui._request_header) == "### User input interrupt"
        assert not visible(shown, gui._output_area)
        assert not visible(shown, gui._exception_box)
        display = gui._display_widgets[enact.Str]
        assert value(shown, display.components[0]) == "Hello"
        assert visible(shown, display.components[0])
        answer = gui._answer_widgets[enact.Str]
        assert visible(shown, answer.components[0])
        assert visible(shown, gui._continue_button)
        instructions = value(shown, gui._instructions)
        assert instructions.startswith("Provide input below.")
        assert "*Context:*" in instructions and "be polite" in instructions

        continued = gui.on_continue(ref_id, "", "Ada")
        new_id = value(continued, gui.invocation_widget.digest_box)
        assert new_id != ref_id
        shown = gui.on_invocation_change(new_id, "")
        assert value(shown, gui.output_widget.components[0]) == "Hello, Ada"
        assert visible(shown, gui._output_area)
        assert not visible(shown, gui._request_area)

    def test_no_answer_widget_for_the_requested_type(self, store: enact.Store) -> None:
        gui = make_gui(AskNumber())
        shown = run(gui, "how many?")
        assert visible(shown, gui._request_area)
        assert value(shown, gui._instructions) == (
            "User input requested, but no widget found for Int"
        )
        assert not visible(shown, gui._continue_button)

    def test_answer_widgets_for_more_types(self, store: enact.Store) -> None:
        gui = make_gui(
            AskNumber(),
            input_required_inputs=[enact.Str, enact.Int],
        )
        updates = gui.on_run("how many?", "", "")
        ref_id = value(updates, gui.invocation_widget.digest_box)
        shown = gui.on_invocation_change(ref_id, "")
        assert visible(shown, gui._continue_button)
        number = gui._answer_widgets[enact.Int]
        assert isinstance(number, JsonFieldWidget)
        continued = gui.on_continue(ref_id, "", "ignored", "7")
        assert shown_invocation(gui, continued).get_output() == 7

    def test_no_display_widget_shows_the_exception_text(
        self, store: enact.Store
    ) -> None:
        gui = make_gui(AskName(), input_required_outputs=[enact.Int])
        shown = run(gui, "Hello")
        assert visible(shown, gui._request_area)
        assert visible(shown, gui._exception_box)


class TestRefWidget:
    def test_get_and_set(self, store: enact.Store) -> None:
        with gr.Blocks():
            widget = RefWidget()
        assert widget.get("") is None
        ref = enact.commit(enact.Str("x"))
        assert widget.get(ref.id) == ref
        updates = widget.set(ref, visible=False)
        assert [u["value"] for u in updates] == [ref.id, enact.pformat(enact.Str("x"))]
        assert all(u["visible"] is False for u in updates)
        assert widget.set()[1]["value"] == "No reference selected"
        assert widget.components == [widget.digest_box, widget.components[1]]
        assert isinstance(widget.ref_details, gr.Accordion)
        assert widget.change is not None

    def test_invalid_and_missing_references(self, store: enact.Store) -> None:
        with gr.Blocks():
            widget = RefWidget()
        assert widget.describe("not json") == "Invalid reference id."
        assert widget.describe('{"digest": "' + "0" * 64 + '"}') == (
            "Reference not found."
        )
        assert widget.describe("") == "No reference selected"
        with pytest.raises(enact.RefError):
            widget.get("not json")

    def test_consume_takes_its_share(self, store: enact.Store) -> None:
        with gr.Blocks():
            widget = RefWidget()
        ref = enact.commit(enact.Str("x"))
        values = [ref.id, "details", "rest"]
        assert widget.consume(values) == ref
        assert values == ["rest"]


class TestOtherWidgets:
    def test_str_widget(self) -> None:
        with gr.Blocks():
            widget = StrWidget.create(enact.Str, interactive=False)
        assert widget.get("text") == enact.Str("text")
        assert isinstance(widget.get("text"), enact.Str)
        assert widget.set(enact.Str("v"))[0]["value"] == "v"
        assert widget.set()[0]["value"] == ""
        values = ["a", "b"]
        assert widget.consume_args(values) == ["a"]
        assert values == ["b"]

    def test_json_field_widget_round_trip(self, store: enact.Store) -> None:
        with gr.Blocks():
            widget = JsonFieldWidget.create(Point)
        assert len(widget.components) == 3
        assert [c.label for c in widget.components] == ["x", "label", "tags"]
        point = Point(3, "p", ["a", "b"])
        texts = [u["value"] for u in widget.set(point)]
        assert texts[2] == '[\n  "a",\n  "b"\n]'
        assert widget.get(*texts) == point
        assert widget.get("", "", "") is None
        with pytest.raises(ValueError, match="'x'"):
            widget.get("{", '"p"', "[]")

    def test_image_widget(self) -> None:
        np = pytest.importorskip("numpy")
        import PIL.Image

        with gr.Blocks():
            widget = ImageWidget.create(enact.Image)
        pixels = np.zeros((2, 3, 3), dtype=np.uint8)
        image = widget.get(pixels)
        assert isinstance(image, enact.Image)
        assert image.value.size == (3, 2)
        picture = PIL.Image.new("RGB", (4, 4))
        assert widget.set(enact.Image(picture))[0]["value"] is picture
        assert widget.get(None) is None

    def test_set_from_event_runs_in_the_wiring_contexts(self) -> None:
        with enact.InMemoryStore():
            ref = enact.commit(enact.Str("stored"))
            with gr.Blocks() as blocks:
                button = gr.Button()
                source = gr.Textbox()
                widget = StrWidget()
                widget.set_from_event(
                    button.click, lambda text: enact.Ref.from_id(text)(), [source]
                )
        (fn,) = [f.fn for f in blocks.fns.values() if f.name == "handler"]
        # No store is active here; the handler brings the wiring-time one.
        updates = fn(ref.id)
        assert updates == {widget.components[0]: gr.update(value="stored")}

    @pytest.mark.parametrize(
        ("widget_type", "resource_type"),
        [(StrWidget, enact.Int), (ImageWidget, enact.Str), (RefWidget, enact.Str)],
    )
    def test_create_unsupported_type(
        self, widget_type: type[ResourceWidget], resource_type: type[Any]
    ) -> None:
        with gr.Blocks(), pytest.raises(TypeError):
            widget_type.create(resource_type)


class TestGUI:
    def test_invokable_without_types(self, store: enact.Store) -> None:
        with pytest.raises(ValueError, match="input and an output type"):
            GUI(enact.commit(Untyped()))

    def test_widgets_exist_once_built(self, store: enact.Store) -> None:
        gui = GUI(enact.commit(Shout()))
        with pytest.raises(AttributeError):
            gui.input_widget  # noqa: B018
        assert gui.blocks is gui.blocks
        assert isinstance(gui.input_widget, StrWidget)
        assert isinstance(gui.output_widget, StrWidget)
        assert isinstance(gui.invocation_widget, RefWidget)

    def test_registered_widget_has_priority(self, store: enact.Store) -> None:
        class LoudStrWidget(StrWidget):
            pass

        gui = GUI(enact.commit(Shout()))
        gui.register(LoudStrWidget)
        gui.blocks  # noqa: B018
        assert type(gui.input_widget) is LoudStrWidget

    def test_fallback_widget(self, store: enact.Store) -> None:
        gui = make_gui(AskNumber())
        assert isinstance(gui.output_widget, JsonFieldWidget)

    def test_title(self, store: enact.Store) -> None:
        ref = enact.commit(Shout())
        gui = GUI(ref)
        gui.blocks  # noqa: B018
        assert gui._title.value == f"### *Shout* `{ref.digest[:6]}`"

    def test_launch_serves_the_page(self, store: enact.Store) -> None:
        gui = make_gui(Shout())
        try:
            _, url, _ = gui.launch(
                server_name="127.0.0.1", prevent_thread_lock=True, quiet=True
            )
            with urllib.request.urlopen(url, timeout=30) as response:
                assert response.status == 200
                assert "enact: Shout" in response.read().decode()
        finally:
            gui.blocks.close()


def test_docs_example_builds_and_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    docs = pathlib.Path(__file__).resolve().parents[1] / "docs" / "gradio.md"
    (example,) = re.findall(r"```python\n(.*?)```", docs.read_text(), re.S)
    launched: list[GUI] = []

    def launch(self: GUI, *args: Any, **kwargs: Any) -> None:
        assert isinstance(self.blocks, gr.Blocks)  # built in the example's store
        launched.append(self)

    monkeypatch.setattr(GUI, "launch", launch)
    namespace: dict[str, Any] = {"__name__": "docs_gradio_example"}
    exec(example, namespace)
    (gui,) = launched
    # The example's store has been exited: the handlers bring it along.
    handlers = {f.fn.__name__: f.fn for f in gui.blocks.fns.values() if f.fn}
    ran = handlers["on_run"]("Ada", "", "")
    ref_id = value(ran, gui.invocation_widget.digest_box)
    continued = handlers["on_continue"](ref_id, "", "Dr.")
    shown = handlers["on_invocation_change"](
        value(continued, gui.invocation_widget.digest_box), ""
    )
    assert value(shown, gui.output_widget.components[0]) == "Hello, Dr. Ada!"
