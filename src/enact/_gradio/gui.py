"""``GUI``: a Gradio app that runs one invokable and answers its input requests.

The event handlers (:meth:`GUI.on_run`, :meth:`GUI.on_invocation_change`,
:meth:`GUI.on_continue`) are plain methods: they take the components' values
and return ``{component: gr.update(...)}``, so they run without a server.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import gradio as gr

from enact import contexts
from enact._gradio.widgets import (
    ImageWidget,
    JsonFieldWidget,
    RefWidget,
    ResourceWidget,
    StrWidget,
    Updates,
    keyed_updates,
)
from enact.errors import EnactError
from enact.interfaces import ResourceBase
from enact.invocations import InputRequest, Invocation, InvokableBase
from enact.pretty_print import pformat
from enact.references import NotFound, Ref, RefError, commit
from enact.resource_types import Str

__all__ = ["GUI"]

W = TypeVar("W", bound=ResourceWidget)

#: The built-in widgets, lowest priority first.
_BUILTIN_WIDGETS: tuple[type[ResourceWidget], ...] = (
    JsonFieldWidget,
    RefWidget,
    StrWidget,
    ImageWidget,
)

USER_INPUT_HEADER = "### User input interrupt"
DEFAULT_INSTRUCTIONS = "Provide input below."


class GUI:
    """A Gradio Blocks app for one invokable: run it, inspect the journal,
    answer its input requests.

    Args:
        invokable: A ref to the invokable; its class must declare input and
            output types (``typed_invokable``).
        input_required_inputs: Types for which an answer widget is built
            (default ``[Str]``): the user answers input requests of these types.
        input_required_outputs: Types for which a display widget is built
            (default ``[Str]``): shows the value for which input is requested.

    Raises:
        ValueError: if the invokable lacks an input or an output type.
    """

    def __init__(
        self,
        invokable: Ref[InvokableBase[Any, Any]],
        input_required_inputs: list[type[ResourceBase]] | None = None,
        input_required_outputs: list[type[ResourceBase]] | None = None,
    ) -> None:
        invokable_class = type(invokable.checkout())
        input_type = invokable_class.get_input_type()
        output_type = invokable_class.get_output_type()
        if input_type is None or output_type is None:
            raise ValueError(
                f"{invokable_class.__qualname__} needs an input and an output type "
                "for the GUI (declare them with enact.typed_invokable)."
            )
        self._invokable = invokable
        self._input_type: type[ResourceBase] = input_type
        self._output_type: type[ResourceBase] = output_type
        default: list[type[ResourceBase]] = [Str]
        self._answer_types = list(input_required_inputs or default)
        self._display_types = list(input_required_outputs or default)
        self._widget_types: list[type[ResourceWidget]] = list(_BUILTIN_WIDGETS)
        self._blocks: gr.Blocks | None = None
        self._input_widget: ResourceWidget | None = None
        self._output_widget: ResourceWidget | None = None
        self._invocation_widget: RefWidget | None = None
        self._display_widgets: dict[type[ResourceBase], ResourceWidget] = {}
        self._answer_widgets: dict[type[ResourceBase], ResourceWidget] = {}

    def register(self, widget_type: type[ResourceWidget]) -> None:
        """Adds a widget class with the highest priority so far.

        Register before the UI is built (before :attr:`blocks` is read).
        """
        self._widget_types.append(widget_type)

    def _create_widget(
        self, resource_type: type[ResourceBase], **kwargs: Any
    ) -> ResourceWidget:
        """Creates, in the current layout, the widget of the highest priority
        that supports ``resource_type``.

        Raises:
            TypeError: if no registered widget supports it.
        """
        for widget_type in reversed(self._widget_types):
            if widget_type.supports_type(resource_type):
                return widget_type.create(resource_type, **kwargs)
        raise TypeError(f"No widget supports {resource_type!r}.")

    @property
    def input_widget(self) -> ResourceWidget:
        """The widget of the invokable's input (once the UI is built)."""
        return _built(self._input_widget, "input_widget")

    @property
    def output_widget(self) -> ResourceWidget:
        """The read-only widget of the invokable's output (once the UI is built)."""
        return _built(self._output_widget, "output_widget")

    @property
    def invocation_widget(self) -> RefWidget:
        """The widget holding the shown invocation's ref (once the UI is built)."""
        return _built(self._invocation_widget, "invocation_widget")

    @property
    def blocks(self) -> gr.Blocks:
        """The Gradio app, built on first access.

        Its handlers run in the contexts (the store) current at that access.
        """
        if self._blocks is None:
            self._blocks = self._build()
        return self._blocks

    def launch(self, *args: Any, use_queue: bool = True, **kwargs: Any) -> Any:
        """Launches the app (see ``gradio.Blocks.launch``).

        Args:
            *args: Passed to ``launch``.
            use_queue: Enable the request queue, so calls may take longer
                than a minute.
            **kwargs: Passed to ``launch``.

        Returns:
            What Gradio's ``launch`` returns.
        """
        blocks = self.blocks
        if use_queue:
            blocks.queue()
        return blocks.launch(*args, **kwargs)

    def _build(self) -> gr.Blocks:
        invokable = self._invokable.checkout()
        blocks = gr.Blocks(title=f"enact: {type(invokable).__name__}")
        with blocks:
            self._title = gr.Markdown(_title(self._invokable))
            with gr.Accordion("Resource details", open=False):
                self._details = gr.Code(pformat(invokable), language=None)
            gr.Markdown("Input:")
            self._input_widget = self._create_widget(self._input_type)
            with gr.Column(visible=False) as self._output_area:
                gr.Markdown("Output:")
                self._output_widget = self._create_widget(
                    self._output_type, interactive=False
                )
            self._exception_box = gr.Textbox(
                label="Exception:", lines=4, interactive=False, visible=False
            )
            with gr.Column(visible=False) as self._request_area:
                self._request_header = gr.Markdown(USER_INPUT_HEADER)
                self._display_widgets = {
                    t: self._create_widget(t, interactive=False, visible=False)
                    for t in self._display_types
                }
                self._instructions = gr.Markdown(DEFAULT_INSTRUCTIONS)
                self._answer_widgets = {
                    t: self._create_widget(t, visible=False) for t in self._answer_types
                }
                self._continue_button = gr.Button("Continue", visible=False)
            with gr.Accordion("Invocation details", open=False):
                self._invocation_widget = RefWidget()
            self._run_button = gr.Button("Run", variant="primary")
            self._wire()
        return blocks

    def _wire(self) -> None:
        invocation = self.invocation_widget.components
        answers = _flatten(self._answer_widgets.values())
        self._run_button.click(
            _handler(self.on_run),
            inputs=self.input_widget.components + invocation,
            outputs=invocation,
        )
        self.invocation_widget.change(
            _handler(self.on_invocation_change),
            inputs=invocation,
            outputs=self._shown_components(),
        )
        self._continue_button.click(
            _handler(self.on_continue),
            inputs=invocation + answers,
            outputs=invocation,
        )

    def _shown_components(self) -> list[Any]:
        """Every component :meth:`on_invocation_change` may update."""
        widgets = [
            self.input_widget,
            self.output_widget,
            *self._display_widgets.values(),
            *self._answer_widgets.values(),
        ]
        return [
            self._title,
            self._details,
            self._output_area,
            self._exception_box,
            self._request_area,
            self._request_header,
            self._instructions,
            self._continue_button,
            *_flatten(widgets),
        ]

    def on_run(self, *values: Any) -> Updates:
        """The Run button: invokes on the input, shows the new invocation.

        Args:
            *values: The input widget's values, then the invocation widget's.

        Returns:
            Updates of the invocation widget (none if the input is empty).
        """
        rest = list(values)
        resource = self.input_widget.consume(rest)
        if resource is None or (isinstance(resource, (str, bytes)) and not resource):
            return {}
        shown = self._shown_invocation(rest)
        ref = self._invokable if shown is None else shown.response().invokable
        invocation = ref.checkout().invoke(
            commit(resource), raise_on_invocation_error=False
        )
        return keyed_updates(self.invocation_widget, commit(invocation))

    def on_invocation_change(self, *values: Any) -> Updates:
        """Shows the invocation the invocation widget holds.

        Args:
            *values: The invocation widget's values.

        Returns:
            Updates of the title, input, output, exception and input-request
            components (none if the widget holds no invocation).
        """
        invocation = self._shown_invocation(list(values))
        return {} if invocation is None else self._show(invocation)

    def on_continue(self, *values: Any) -> Updates:
        """The Continue button: answers the shown input request.

        Args:
            *values: The invocation widget's values, then every answer
                widget's, in the order of ``input_required_inputs``.

        Returns:
            Updates of the invocation widget, now holding the continued
            invocation (none if there is no answer).
        """
        rest = list(values)
        invocation = self._shown_invocation(rest)
        request = _input_request(invocation)
        if invocation is None or request is None:
            return {}
        answer = None
        for resource_type, widget in self._answer_widgets.items():
            if resource_type is request.requested_type:
                answer = widget.consume(rest)
            else:
                widget.consume_args(rest)
        if answer is None:
            return {}
        continued = request.continue_invocation(invocation, answer)
        return keyed_updates(self.invocation_widget, commit(continued))

    def _shown_invocation(self, values: list[Any]) -> Invocation[Any, Any] | None:
        """The invocation the invocation widget's share of ``values`` names."""
        try:
            ref = self.invocation_widget.consume(values)
            shown = None if ref is None else ref.checkout()
        except (RefError, NotFound):
            return None
        return shown if isinstance(shown, Invocation) else None

    def _show(self, invocation: Invocation[Any, Any]) -> Updates:
        request, response = invocation.request(), invocation.response()
        updates: Updates = {
            self._title: gr.update(value=_title(response.invokable)),
            self._details: gr.update(value=pformat(response.invokable())),
        }
        updates |= keyed_updates(self.input_widget, request.input())
        output = None if response.output is None else response.output()
        updates |= keyed_updates(self.output_widget, output)
        for widget in [*self._display_widgets.values(), *self._answer_widgets.values()]:
            updates |= keyed_updates(widget, None, visible=False)
        updates[self._continue_button] = gr.update(visible=False)
        raised = None if response.raised is None else response.raised()
        if raised is None:
            return updates | {
                self._output_area: gr.update(visible=True),
                self._exception_box: gr.update(visible=False),
                self._request_area: gr.update(visible=False),
            }
        if not isinstance(raised, InputRequest):
            return updates | {
                self._output_area: gr.update(visible=False),
                self._exception_box: gr.update(value=str(raised), visible=True),
                self._request_area: gr.update(visible=False),
            }
        return updates | self._show_request(raised)

    def _show_request(self, request: InputRequest) -> Updates:
        updates: Updates = {
            self._output_area: gr.update(visible=False),
            self._request_area: gr.update(visible=True),
            self._request_header: gr.update(value=USER_INPUT_HEADER),
            self._exception_box: gr.update(visible=False),
        }
        resource = request.input()
        display = self._display_widgets.get(type(resource))
        if display is not None:
            updates |= keyed_updates(display, resource, visible=True)
        else:
            updates[self._exception_box] = gr.update(value=str(request), visible=True)
        requested = request.requested_type
        answer = self._answer_widgets.get(requested)
        if answer is not None:
            updates |= keyed_updates(answer, None, visible=True)
            updates[self._continue_button] = gr.update(visible=True)
            text = DEFAULT_INSTRUCTIONS
        else:
            name = getattr(requested, "__qualname__", repr(requested))
            text = f"User input requested, but no widget found for {name}"
        if request.context:
            text += f"\n\n*Context:*\n\n```\n{pformat(request.context)}\n```"
        updates[self._instructions] = gr.update(value=text)
        return updates


def _title(invokable: Ref[Any]) -> str:
    name = type(invokable.checkout()).__name__
    return f"### *{name}* `{invokable.digest[:6]}`"


def _input_request(invocation: Invocation[Any, Any] | None) -> InputRequest | None:
    if invocation is None or invocation.response().raised is None:
        return None
    raised = invocation.get_raised()
    return raised if isinstance(raised, InputRequest) else None


def _built(widget: W | None, name: str) -> W:
    if widget is None:
        raise AttributeError(f"GUI.{name} exists once the UI is built (read .blocks).")
    return widget


def _handler(fun: Callable[..., Updates]) -> Callable[..., Updates]:
    """``fun`` in the contexts current now; enact's errors shown to the user."""

    @functools.wraps(fun)
    def shown_errors(*values: Any) -> Updates:
        try:
            return fun(*values)
        except (EnactError, ValueError) as error:
            raise gr.Error(str(error)) from error

    return contexts.with_current_contexts(shown_errors)


def _flatten(widgets: Iterable[ResourceWidget]) -> list[Any]:
    return [c for widget in widgets for c in widget.components]
