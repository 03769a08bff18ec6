"""Resource versions of common values (docs/compatibility.md#resource-types).

``Int``, ``Float``, ``Str`` and ``Bytes`` are their builtins as well as
resources: ``Int(2) + 1 == 3`` and ``Str("a") == "a"``. ``NPArray`` and ``Image``
import numpy and Pillow only when used, so ``import enact`` needs neither.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Self

from enact.interfaces import FieldValue, ResourceBase, ResourceError
from enact.resource_registry import register

if TYPE_CHECKING:
    import numpy as np
    import PIL.Image

__all__ = ["Bytes", "Float", "Image", "Int", "NPArray", "Str"]


class _BuiltinResource(ResourceBase):
    """A resource that is also a value of an immutable builtin type."""

    _enact_immutable = True
    _builtin: type

    @classmethod
    def field_names(cls) -> Iterable[str]:
        return ("value",)

    def field_values(self) -> Iterable[FieldValue]:
        return (self._builtin(self),)

    def field_items(self) -> Iterable[tuple[str, FieldValue]]:
        return (("value", self._builtin(self)),)

    @classmethod
    def from_fields(cls, field_dict: Mapping[str, FieldValue]) -> Self:
        if set(field_dict) != {"value"}:
            raise ResourceError(
                f"{cls.__name__} has one field, 'value'; got {sorted(field_dict)}."
            )
        value = field_dict["value"]
        if type(value) is not cls._builtin:
            raise ResourceError(
                f"{cls.__name__}.value must be a {cls._builtin.__name__}, got "
                f"{type(value).__name__}."
            )
        return cls(value)  # type: ignore[call-arg]


@register
class Int(int, _BuiltinResource):
    """An ``int`` that is a resource."""

    _enact_type_name = "enact.resource_types.Int"
    _builtin = int


@register
class Float(float, _BuiltinResource):
    """A ``float`` that is a resource."""

    _enact_type_name = "enact.resource_types.Float"
    _builtin = float


@register
class Str(str, _BuiltinResource):
    """A ``str`` that is a resource."""

    _enact_type_name = "enact.resource_types.Str"
    _builtin = str


@register
class Bytes(bytes, _BuiltinResource):
    """A ``bytes`` that is a resource."""

    _enact_type_name = "enact.resource_types.Bytes"
    _builtin = bytes


def _require(module: str, extra: str) -> Any:
    try:
        return __import__(module, fromlist=["_"])
    except ImportError:
        raise ImportError(
            f"This needs the optional package {module.split('.')[0]!r}: "
            f"pip install 'enact[{extra}]'"
        ) from None


@register
class NPArray(ResourceBase):
    """A numpy array, stored in ``.npy`` format (needs ``enact[numpy]``)."""

    _enact_type_name = "enact.resource_types.NPArray"

    def __init__(self, value: np.ndarray[Any, Any]) -> None:
        self.value = value

    @classmethod
    def field_names(cls) -> Iterable[str]:
        return ("value",)

    def field_values(self) -> Iterable[FieldValue]:
        np = _require("numpy", "numpy")
        buffer = io.BytesIO()
        # allow_pickle=False: object arrays would need pickle, which we refuse.
        np.save(buffer, self.value, allow_pickle=False)
        return (buffer.getvalue(),)

    @classmethod
    def from_fields(cls, field_dict: Mapping[str, FieldValue]) -> Self:
        np = _require("numpy", "numpy")
        data = field_dict.get("value")
        if not isinstance(data, bytes):
            raise ResourceError("NPArray.value must hold .npy bytes.")
        return cls(np.load(io.BytesIO(data), allow_pickle=False))

    def __str__(self) -> str:
        return str(self.value)

    def __repr__(self) -> str:
        return f"NPArray({self.value!r})"


@register
class Image(ResourceBase):
    """A Pillow image, stored as PNG (needs ``enact[images]``)."""

    _enact_type_name = "enact.resource_types.Image"

    def __init__(self, value: PIL.Image.Image) -> None:
        self.value = value

    @property
    def data(self) -> bytes:
        """The image encoded as PNG (computed on each access)."""
        buffer = io.BytesIO()
        self.value.save(buffer, format="PNG")
        return buffer.getvalue()

    @classmethod
    def field_names(cls) -> Iterable[str]:
        return ("data",)

    def field_values(self) -> Iterable[FieldValue]:
        return (self.data,)

    @classmethod
    def from_fields(cls, field_dict: Mapping[str, FieldValue]) -> Self:
        pil_image = _require("PIL.Image", "images")
        data = field_dict.get("data")
        if not isinstance(data, bytes):
            raise ResourceError("Image.data must hold PNG bytes.")
        image = pil_image.open(io.BytesIO(data))
        image.load()
        return cls(image)

    def __repr__(self) -> str:
        return f"Image({self.value!r})"
