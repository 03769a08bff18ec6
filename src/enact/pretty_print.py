"""Human-readable, indentation-based rendering of values
(docs/compatibility.md#pretty-printing).

:class:`PPrinter` turns a field value, a resource or a :class:`~enact.Ref` into
a tree of :class:`PPValue` line groups, then merges the tree into indented
text. Refs are followed: the resource they point to is rendered in place, after
an arrow and the first six hex digits of the digest::

    >>> pprint(commit(linked_list))          # doctest: +SKIP
    -> LinkedList#0b182f:
      value: 1
      next:
        -> LinkedList#0f9059:
          value: 2
          next: -> LinkedList(value=1, next=None)#dd2ab0

Where this differs from enact 0.4.0.dev1 (compatibility.md, difference 12):

* ``bytes`` render as ``<N bytes>`` everywhere, also as list items or dict
  values, where the original printed a list of ints. A ``Bytes`` resource
  still renders as ``Bytes(value=<N bytes>)``.
* A ref that cannot be checked out (no store is active, the store does not
  hold it, or its type is not registered in this process) renders as
  ``-> <Ref 3fa9c2 (not available: <reason>)>`` instead of raising, so a
  journal can be inspected even when parts of it are missing. Stored bytes
  that do not match their digest still raise: corruption must stay loud.

The dict format of the original is kept: ``{ a 1}`` (keys unquoted, no colon).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from enact.contexts import NoActiveContext
from enact.interfaces import PRIMITIVES, ResourceBase
from enact.references import NotFound, Ref
from enact.resource_registry import ResourceNotFound
from enact.wrappers import field_wrapper_type

__all__ = ["Formatter", "PPValue", "PPrinter", "pformat", "pprint"]

# How many hex digits of a digest are shown after '#'.
_DIGEST_CHARS = 6


@dataclasses.dataclass
class PPValue:
    """A group of output lines: a head line and indented child groups.

    When merged into text, the group's first line is ``value + open``; the
    children's lines follow one indentation level deeper, and ``close`` is
    appended to the last line. A group that yields exactly two lines is joined
    into one, with a single space between them.
    """

    value: str
    """The text of the group's first line."""
    contents: list[PPValue] = dataclasses.field(default_factory=list)
    """Child groups, printed one level deeper."""
    open: str = ""
    """Appended to the first line (e.g. ``'['`` or ``':'``)."""
    close: str = ""
    """Appended to the group's last line (e.g. ``']'``)."""


Formatter = Callable[[Any, int], PPValue]
"""A formatter: takes a value and its depth, returns its line group."""


class PPrinter:
    """Renders field values, resources and refs as indented text.

    Args:
        offset: Spaces of indentation per nesting level.
        max_ref_depth: If set (and not 0), refs deeper than this many levels
            are shown as ``-> TypeName#3fa9c2`` instead of being expanded.
            ``0`` means no limit, as in the original.
        skip_repeated_refs: Show a ref whose digest was already expanded in
            the same :meth:`pformat` call as ``-> TypeName#3fa9c2`` only.

    Attributes:
        offset: Spaces of indentation per nesting level.
        max_ref_depth: See above.
        skip_repeated_refs: See above.
    """

    def __init__(
        self,
        offset: int = 2,
        max_ref_depth: int | None = None,
        skip_repeated_refs: bool = False,
    ) -> None:
        self.offset = offset
        self.max_ref_depth = max_ref_depth
        self.skip_repeated_refs = skip_repeated_refs
        self._formatters: list[tuple[type, Formatter]] = []
        self._seen: set[str] = set()

    def register(self, t: type, formatter: Formatter) -> None:
        """Adds a formatter for instances of ``t``, ahead of all others.

        Formatters registered later take precedence over earlier ones, and all
        registered formatters over the built-in ones.

        Args:
            t: The type the formatter handles (subclasses included).
            formatter: Called as ``formatter(value, depth)``; returns the
                value's :class:`PPValue`. It may call :meth:`pvalue` on parts
                of the value with ``depth + 1``.
        """
        self._formatters.insert(0, (t, formatter))

    def pvalue(self, v: Any, depth: int = 0) -> PPValue:
        """Builds the line-group tree of ``v``.

        The first matching formatter wins: registered formatters (most recent
        first), then ``str``, ``Ref``, resources, ``bytes``, mappings,
        sequences and resource classes; anything else must be a primitive.

        Args:
            v: The value to render.
            depth: The nesting depth of ``v``; it limits how deep refs are
                expanded (see ``max_ref_depth``).

        Returns:
            The tree of ``v``.

        Raises:
            AssertionError: if ``v`` (or a value inside it) is not a field
                value.
        """
        for t, formatter in self._formatters:
            if isinstance(v, t):
                return formatter(v, depth)
        if isinstance(v, str):
            return self.from_primitive(v, depth)
        if isinstance(v, Ref):
            return self.from_ref(v, depth)
        if isinstance(v, ResourceBase):
            return self.from_resource(v, depth)
        if isinstance(v, bytes):
            return self.from_primitive(v, depth)
        if isinstance(v, Mapping):
            return self.from_mapping(v, depth)
        if isinstance(v, Sequence):
            return self.from_sequence(v, depth)
        if isinstance(v, type):
            return self.from_type(v, depth)
        if not isinstance(v, PRIMITIVES):
            # Plain values stored as type wrappers (a set, a dataclass) print
            # as their wrapper resource.
            wrapper_type = field_wrapper_type(type(v))
            if wrapper_type is not None:
                return self.from_resource(wrapper_type.wrap(v), depth)
        return self.from_primitive(v, depth)

    def primitive_to_str(self, v: Any) -> str:
        """The one-line text of a primitive value.

        Args:
            v: A primitive (``None``, ``bool``, ``int``, ``float``, ``str``,
                ``bytes``).

        Returns:
            ``<N bytes>`` for bytes, ``repr`` for strings, ``str`` otherwise.
        """
        if isinstance(v, bytes):
            return f"<{len(v)} bytes>"
        if isinstance(v, str):
            return repr(v)
        return str(v)

    def from_primitive(self, v: Any, depth: int) -> PPValue:
        """Renders a primitive value as one line.

        Raises:
            AssertionError: if ``v`` is not a primitive.
        """
        del depth  # A primitive has no nested values.
        if not isinstance(v, PRIMITIVES):
            raise AssertionError(
                f"Cannot pretty-print a value of type {type(v).__qualname__}: it is "
                "not a field value. Register a formatter for it with "
                "PPrinter.register."
            )
        return PPValue(self.primitive_to_str(v))

    def from_sequence(self, v: Sequence[Any], depth: int) -> PPValue:
        """Renders a list or tuple as ``[`` items ``]``, one item per line.

        ``bytes`` passed here render as ``<N bytes>``, not as a list of ints.
        """
        if isinstance(v, bytes):
            return self.from_primitive(v, depth)
        return PPValue("", [self.pvalue(item, depth + 1) for item in v], "[", "]")

    def from_mapping(self, v: Mapping[Any, Any], depth: int) -> PPValue:
        """Renders a mapping as ``{`` ``key value`` lines ``}``."""
        return PPValue(
            "",
            [
                PPValue(str(key), [self.pvalue(value, depth + 1)])
                for key, value in v.items()
            ],
            "{",
            "}",
        )

    def from_resource(self, v: ResourceBase, depth: int) -> PPValue:
        """Renders a resource.

        A resource whose fields are all primitives takes one line,
        ``TypeName(a=1, b='x')``; any other renders as ``TypeName:`` followed by
        one ``field: value`` group per field.
        """
        items = list(v.field_items())
        name = type(v).__name__
        if all(isinstance(value, PRIMITIVES) for _, value in items):
            fields = ", ".join(
                f"{field}={self.primitive_to_str(value)}" for field, value in items
            )
            return PPValue(f"{name}({fields})")
        return PPValue(
            name,
            [
                PPValue(field, [self.pvalue(value, depth + 1)], open=":")
                for field, value in items
            ],
            open=":",
        )

    def from_ref(self, v: Ref[Any], depth: int) -> PPValue:
        """Renders a ref as an arrow to the resource it refers to.

        The resource is checked out (from the ref's cache or the current store)
        and rendered in place as ``-> <resource>#3fa9c2``. It is shown as just
        ``-> TypeName#3fa9c2`` when ``depth`` exceeds ``max_ref_depth``, or
        when ``skip_repeated_refs`` is set and the digest was already expanded.
        A ref that cannot be checked out renders as
        ``-> <Ref 3fa9c2 (not available: <reason>)>``.
        """
        short = v.digest[:_DIGEST_CHARS]
        try:
            resource = v.checkout()
        except NoActiveContext:
            return self._unavailable(v, "no store is active")
        except NotFound as error:
            return self._unavailable(v, f"not in store {error.location}")
        except ResourceNotFound as error:
            return self._unavailable(
                v, f"type {_type_name(error.type_id)} is not registered"
            )
        if (self.max_ref_depth and depth > self.max_ref_depth) or (
            self.skip_repeated_refs and v.digest in self._seen
        ):
            return PPValue(f"-> {type(resource).__name__}#{short}")
        inner = self.pvalue(resource, depth + 1)
        result = dataclasses.replace(inner, value=f"-> {inner.value}#{short}")
        self._seen.add(v.digest)
        return result

    def from_type(self, v: type, depth: int) -> PPValue:
        """Renders a resource class as its name.

        Raises:
            AssertionError: if ``v`` is not a resource class.
        """
        del depth  # A class has no nested values.
        if not issubclass(v, ResourceBase) and not _storable_class(v):
            raise AssertionError(
                f"Cannot pretty-print the class {v.__qualname__}: only resource "
                "classes are field values."
            )
        return PPValue(v.__name__)

    def pformat(self, v: Any) -> str:
        """Renders ``v`` as text (lines joined by ``\\n``, no trailing newline).

        Raises:
            AssertionError: if ``v`` (or a value inside it) is not a field
                value and no registered formatter handles it.
        """
        self._seen = set()
        lines = _merge(self.pvalue(v))
        return "\n".join(" " * (self.offset * level) + text for level, text in lines)

    def pprint(self, v: Any) -> None:
        """Prints :meth:`pformat` of ``v``."""
        print(self.pformat(v))

    def _unavailable(self, ref: Ref[Any], reason: str) -> PPValue:
        short = ref.digest[:_DIGEST_CHARS]
        return PPValue(f"-> <{type(ref).__name__} {short} (not available: {reason})>")


def _type_name(type_id: str) -> str:
    """The name inside a type id (``{"name": ...}`` JSON), else the id itself."""
    try:
        name = json.loads(type_id).get("name")
    except (ValueError, AttributeError):
        return type_id
    return name if isinstance(name, str) else type_id


def _merge(group: PPValue) -> list[tuple[int, str]]:
    """Flattens a group into ``(level, text)`` lines, levels relative to it."""
    lines = [(0, group.value + group.open)]
    for child in group.contents:
        lines.extend((level + 1, text) for level, text in _merge(child))
    level, text = lines[-1]
    lines[-1] = (level, text + group.close)
    if len(lines) == 2:
        return [(0, f"{lines[0][1]} {lines[1][1]}")]
    return lines


def pformat(
    resource: Any,
    max_ref_depth: int | None = None,
    skip_repeated_refs: bool = False,
) -> str:
    """Renders a value as indented text with a fresh :class:`PPrinter`.

    Args:
        resource: A field value, resource or ref.
        max_ref_depth: Expand refs only up to this depth (see
            :class:`PPrinter`).
        skip_repeated_refs: Expand each digest only once.

    Returns:
        The text, without a trailing newline.
    """
    printer = PPrinter(
        max_ref_depth=max_ref_depth, skip_repeated_refs=skip_repeated_refs
    )
    return printer.pformat(resource)


def pprint(
    resource: Any,
    max_ref_depth: int | None = None,
    skip_repeated_refs: bool = False,
) -> None:
    """Prints a value as indented text with a fresh :class:`PPrinter`.

    Args:
        resource: A field value, resource or ref.
        max_ref_depth: Expand refs only up to this depth (see
            :class:`PPrinter`).
        skip_repeated_refs: Expand each digest only once.
    """
    print(pformat(resource, max_ref_depth, skip_repeated_refs))


def _storable_class(cls: type) -> bool:
    """Whether a non-resource class can be a value (it has a known name)."""
    try:
        field_wrapper_type(type(cls)).wrap(cls)  # type: ignore[union-attr]
    except Exception:
        return False
    return True
