"""Widgets: one resource type shown as a list of Gradio components.

A widget is created inside a ``gr.Blocks`` context, so its components land in
the layout where it was created. ``set`` turns a resource into updates for the
components and ``get`` turns the components' values back into a resource;
neither needs a running server.
"""

from __future__ import annotations

import abc
import json
from collections.abc import Callable, Sequence
from typing import Any, Self

import gradio as gr
import PIL.Image

from enact import contexts
from enact.interfaces import ResourceBase, ResourceDict
from enact.pretty_print import pformat
from enact.references import NotFound, Ref, RefError
from enact.resource_types import Image, Str
from enact.serialization import DeserializationError, JsonSerializer, load_json

__all__ = [
    "ImageWidget",
    "JsonFieldWidget",
    "RefWidget",
    "ResourceWidget",
    "StrWidget",
]

#: The updates a handler returns: component -> ``gr.update(...)``.
Updates = dict[Any, Any]


class ResourceWidget(abc.ABC):
    """Maps one resource type onto a list of Gradio components.

    Subclasses create their components in ``__init__`` (through :meth:`add`)
    and say which types they show in :meth:`supports_type`.
    """

    def __init__(self) -> None:
        #: The components holding this widget's value, in argument order.
        self.components: list[Any] = []

    @classmethod
    @abc.abstractmethod
    def supports_type(cls, resource_type: type[ResourceBase]) -> bool:
        """Whether this widget can show and read resources of ``resource_type``."""

    @classmethod
    def create(cls, resource_type: type[ResourceBase], **kwargs: Any) -> Self:
        """Creates a widget for ``resource_type`` in the current Blocks layout.

        Args:
            resource_type: The type the widget shows.
            **kwargs: Passed to the components (``interactive``, ``visible``, ...).

        Raises:
            TypeError: if this widget does not support ``resource_type``.
        """
        if not cls.supports_type(resource_type):
            raise TypeError(
                f"{cls.__name__} cannot show {resource_type.__qualname__} resources."
            )
        return cls(**kwargs)

    def add(self, component: Any) -> Any:
        """Adds a component to :attr:`components` and returns it."""
        self.components.append(component)
        return component

    def set(self, resource: Any = None, **kwargs: Any) -> list[Any]:
        """Updates that show ``resource`` (or clear the widget if None).

        Args:
            resource: The resource to show, or None to clear.
            **kwargs: Applied to every component (``visible``, ``interactive``).

        Returns:
            One ``gr.update`` per component, in the order of :attr:`components`.
        """
        values = self.values(resource)
        return [gr.update(value=value, **kwargs) for value in values]

    def values(self, resource: Any) -> list[Any]:
        """The component values showing ``resource`` (None: the empty values).

        The hook behind :meth:`set`; a widget overrides this or :meth:`set`.
        """
        raise NotImplementedError(f"{type(self).__name__} must override values()")

    @abc.abstractmethod
    def get(self, *component_values: Any) -> Any:
        """The resource the component values describe, or None if empty."""

    def consume_args(self, values: list[Any]) -> list[Any]:
        """Removes this widget's share from the front of ``values`` and returns it."""
        share = values[: len(self.components)]
        del values[: len(self.components)]
        return share

    def consume(self, values: list[Any]) -> Any:
        """Takes this widget's share of ``values`` (see :meth:`consume_args`)
        and returns the resource it describes."""
        return self.get(*self.consume_args(values))

    def set_from_event(
        self,
        event: Callable[..., Any],
        fun: Callable[..., Any],
        inputs: Sequence[Any],
        **kwargs: Any,
    ) -> Any:
        """On ``event``, shows the resource ``fun(*inputs)`` in this widget.

        ``fun`` runs in the contexts (the store) current now, at wiring time.

        Args:
            event: A Gradio event listener, e.g. ``button.click``.
            fun: Called with the values of ``inputs``; returns a resource.
            inputs: The components whose values ``fun`` receives.
            **kwargs: Passed to ``event``.

        Returns:
            What ``event`` returns (Gradio's dependency).
        """

        @contexts.with_current_contexts
        def handler(*values: Any) -> Updates:
            return keyed_updates(self, fun(*values))

        return event(handler, inputs=list(inputs), outputs=self.components, **kwargs)


class RefWidget(ResourceWidget):
    """A ref id in a text box, and the resource it references below it.

    Args:
        **kwargs: Passed to the text box and the code block.
    """

    NO_REFERENCE = "No reference selected"
    INVALID = "Invalid reference id."
    NOT_FOUND = "Reference not found."

    def __init__(self, **kwargs: Any) -> None:
        super().__init__()
        #: The text box holding the ref id (``{"digest": ...}``).
        self.digest_box = self.add(
            gr.Textbox(label="Reference id", max_lines=1, **kwargs)
        )
        #: The accordion showing the referenced resource.
        self.ref_details = gr.Accordion("Referenced resource", open=True)
        with self.ref_details:
            self._code = self.add(
                gr.Code(value=self.NO_REFERENCE, language=None, **kwargs)
            )
        #: The text box's change event.
        self.change = self.digest_box.change
        self.change(
            contexts.with_current_contexts(self.describe),
            inputs=[self.digest_box],
            outputs=[self._code],
        )

    @classmethod
    def supports_type(cls, resource_type: type[ResourceBase]) -> bool:
        return isinstance(resource_type, type) and issubclass(resource_type, Ref)

    def values(self, resource: Any) -> list[Any]:
        if resource is None:
            return ["", self.NO_REFERENCE]
        return [resource.id, self.describe(resource.id)]

    def get(self, *component_values: Any) -> Ref[Any] | None:
        text = component_values[0] if component_values else ""
        if not text or not text.strip():
            return None
        return Ref.from_id(text.strip())

    def describe(self, ref_id: str | None) -> str:
        """The pretty-printed resource ``ref_id`` references, or why there is none.

        Needs the store holding it to be current.
        """
        try:
            ref = self.get(ref_id)
        except RefError:
            return self.INVALID
        if ref is None:
            return self.NO_REFERENCE
        try:
            return pformat(ref.checkout())
        except NotFound:
            return self.NOT_FOUND


class StrWidget(ResourceWidget):
    """A label-less text box for :class:`enact.Str`.

    Args:
        **kwargs: Passed to the text box.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__()
        self.add(gr.Textbox(show_label=False, **kwargs))

    @classmethod
    def supports_type(cls, resource_type: type[ResourceBase]) -> bool:
        return isinstance(resource_type, type) and issubclass(resource_type, Str)

    def values(self, resource: Any) -> list[Any]:
        return ["" if resource is None else str(resource)]

    def get(self, *component_values: Any) -> Str | None:
        text = component_values[0]
        return None if text is None else Str(text)


class ImageWidget(ResourceWidget):
    """An image component for :class:`enact.Image`.

    Args:
        **kwargs: Passed to ``gr.Image``.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__()
        self.add(gr.Image(type="numpy", show_label=False, **kwargs))

    @classmethod
    def supports_type(cls, resource_type: type[ResourceBase]) -> bool:
        return isinstance(resource_type, type) and issubclass(resource_type, Image)

    def values(self, resource: Any) -> list[Any]:
        return [None if resource is None else resource.value]

    def get(self, *component_values: Any) -> Image | None:
        pixels = component_values[0]
        if pixels is None:
            return None
        return Image(PIL.Image.fromarray(pixels))


class JsonFieldWidget(ResourceWidget):
    """One labelled text box per field, holding the field value as JSON.

    The fallback for any resource type; the JSON is that of
    :meth:`~enact.serialization.JsonSerializer.to_json`.

    Args:
        resource_type: The type shown.
        **kwargs: Passed to every text box.
    """

    def __init__(self, resource_type: type[ResourceBase], **kwargs: Any) -> None:
        super().__init__()
        self.resource_type = resource_type
        self._serializer = JsonSerializer()
        self.field_names = list(resource_type.field_names())
        for name in self.field_names:
            self.add(gr.Textbox(label=name, lines=1, **kwargs))

    @classmethod
    def supports_type(cls, resource_type: type[ResourceBase]) -> bool:
        return isinstance(resource_type, type) and issubclass(
            resource_type, ResourceBase
        )

    @classmethod
    def create(cls, resource_type: type[ResourceBase], **kwargs: Any) -> Self:
        if not cls.supports_type(resource_type):
            raise TypeError(f"{cls.__name__} cannot show {resource_type!r}.")
        return cls(resource_type, **kwargs)

    def values(self, resource: Any) -> list[Any]:
        if resource is None:
            return [""] * len(self.field_names)
        resource_dict = resource.to_resource_dict()
        return [
            json.dumps(self._serializer.to_json(resource_dict[name]), indent=2)
            for name in self.field_names
        ]

    def get(self, *component_values: Any) -> ResourceBase | None:
        texts = [text or "" for text in component_values]
        if self.field_names and not any(text.strip() for text in texts):
            return None
        fields = {}
        for name, text in zip(self.field_names, texts, strict=True):
            try:
                fields[name] = self._serializer.from_json(load_json(text))
            except (json.JSONDecodeError, DeserializationError) as error:
                raise ValueError(f"Field {name!r} is not valid JSON: {error}") from None
        return ResourceDict(self.resource_type, fields).to_resource()


def keyed_updates(
    widget: ResourceWidget, resource: Any = None, **kwargs: Any
) -> Updates:
    """``widget.set(...)`` keyed by component, as a Gradio handler returns it."""
    return dict(zip(widget.components, widget.set(resource, **kwargs), strict=True))
