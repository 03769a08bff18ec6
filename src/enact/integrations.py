"""Wrappers for values of optional packages: numpy, Pillow and pydantic.

numpy arrays and Pillow images load on demand: the first time such a value is
wrapped, or a stored wrapper of one is read, the provider for that package
registers its wrapper. A numpy array is stored in ``.npy`` format without
pickles (object arrays are refused); an image as PNG.

A pydantic model class is registered like a plain dataclass, with
``@enact.register``: its generated wrapper stores ``model_dump(mode="json")``
and rebuilds the model with ``model_validate``. ``import enact`` imports none of
these packages.
"""

from __future__ import annotations

import dataclasses
import io
import json
import threading
from collections.abc import Callable
from typing import Any

from enact._wrapper_registry import add_type_loader
from enact.interfaces import FieldTypeError
from enact.wrappers import TypeWrapper, add_register_handler, register_wrapper

__all__ = ["load_for_type", "load_for_type_id"]

_PREFIX = "enact.integrations."
_lock = threading.Lock()
_loaded: set[str] = set()


def _numpy() -> None:
    import numpy as np

    @dataclasses.dataclass
    class NumpyArrayWrapper(TypeWrapper[np.ndarray]):
        """A numpy array, stored in ``.npy`` format (no pickles)."""

        _enact_type_name = _PREFIX + "NumpyArrayWrapper"

        npy: bytes

        @classmethod
        def wrap(cls, value: Any) -> NumpyArrayWrapper:
            buffer = io.BytesIO()
            try:
                np.save(buffer, value, allow_pickle=False)
            except ValueError as error:  # object arrays would need pickle
                raise FieldTypeError(
                    f"numpy array of dtype {value.dtype} cannot be stored without "
                    f"pickle: {error}"
                ) from None
            return cls(buffer.getvalue())

        def unwrap(self) -> Any:
            return np.load(io.BytesIO(self.npy), allow_pickle=False)

    register_wrapper(NumpyArrayWrapper)


def _pillow() -> None:
    import PIL.Image

    @dataclasses.dataclass
    class PILImageWrapper(TypeWrapper[PIL.Image.Image]):
        """A Pillow image, stored as PNG."""

        _enact_type_name = _PREFIX + "PILImageWrapper"

        png: bytes

        @classmethod
        def wrap(cls, value: Any) -> PILImageWrapper:
            buffer = io.BytesIO()
            value.save(buffer, format="PNG")
            return cls(buffer.getvalue())

        def unwrap(self) -> Any:
            image = PIL.Image.open(io.BytesIO(self.png))
            image.load()
            return image

    register_wrapper(PILImageWrapper)


# Package (top-level module name) -> provider; wrapper type name -> package.
_PROVIDERS: dict[str, Callable[[], None]] = {"numpy": _numpy, "PIL": _pillow}
_PACKAGE_OF = {
    _PREFIX + "NumpyArrayWrapper": "numpy",
    _PREFIX + "PILImageWrapper": "PIL",
}


def _load(package: str) -> bool:
    with _lock:
        if package in _loaded:
            return False
        _loaded.add(package)
    _PROVIDERS[package]()
    return True


def load_for_type(cls: type) -> bool:
    """Registers the wrapper for ``cls`` if an optional package provides it.

    Returns:
        Whether a provider was loaded (so a look-up is worth retrying).
    """
    for klass in cls.__mro__:
        package = klass.__module__.split(".")[0]
        if package in _PROVIDERS:
            return _load(package)
    return False


def load_for_type_id(type_id: str) -> bool:
    """Registers the wrapper a stored type id names, if it is one of ours.

    Raises:
        ImportError: if the package the stored value needs is not installed.
    """
    try:
        name = json.loads(type_id).get("name", "")
    except (ValueError, AttributeError):
        return False
    package = _PACKAGE_OF.get(name) if isinstance(name, str) else None
    if package is None:
        return False
    try:
        return _load(package)
    except ImportError:
        with _lock:
            _loaded.discard(package)
        raise ImportError(
            f"A stored value needs the optional package {package!r} "
            f"({name}): pip install {'numpy' if package == 'numpy' else 'pillow'}"
        ) from None


def _is_pydantic_model(obj: Any) -> bool:
    return isinstance(obj, type) and any(
        klass.__module__.split(".")[0] == "pydantic" for klass in obj.__mro__[1:]
    )


def _register_pydantic_model(obj: Any, name: str | None) -> Any:
    """``enact.register`` for pydantic model classes (a register handler)."""
    if not _is_pydantic_model(obj) or not hasattr(obj, "model_validate"):
        return NotImplemented
    model: Any = obj

    @dataclasses.dataclass
    class PydanticModelWrapper(TypeWrapper[Any]):
        data: dict[str, Any]

        @classmethod
        def wrapped_type(cls) -> type:
            wrapped: type = model
            return wrapped

        @classmethod
        def wrap(cls, value: Any) -> PydanticModelWrapper:
            return cls(value.model_dump(mode="json"))

        def unwrap(self) -> Any:
            return model.model_validate(self.data)

    PydanticModelWrapper.__qualname__ = f"{model.__qualname__}Wrapper"
    PydanticModelWrapper._enact_type_name = (  # type: ignore[attr-defined]
        name if name is not None else f"{model.__module__}.{model.__qualname__}"
    )
    register_wrapper(PydanticModelWrapper)
    return model


add_register_handler(_register_pydantic_model)


# Look-ups of a class without a wrapper try the providers above first.
add_type_loader(load_for_type)
