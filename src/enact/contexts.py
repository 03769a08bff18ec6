"""Thread- and asyncio-aware stacks of "current" objects
(docs/compatibility.md#contexts).

A class decorated with :func:`register` gets one :class:`contextvars.ContextVar`.
``with instance:`` makes the instance current; ``Cls.current()`` returns the
innermost active one. New threads do not inherit context variables, so a thread
that never set one gets :class:`ContextError` unless its target was wrapped with
:func:`with_current_contexts` or :func:`with_new_contexts`.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from enact.errors import EnactError

__all__ = [
    "Context",
    "ContextError",
    "NoActiveContext",
    "new_contexts",
    "register",
    "with_current_contexts",
    "with_new_contexts",
]

C = TypeVar("C", bound="Context")
F = TypeVar("F", bound=Callable[..., Any])

# A sentinel distinguishes "never set in this thread" from "set to None".
_UNSET: Any = object()
UNSET: Any = _UNSET

_variables: dict[type, contextvars.ContextVar[Any]] = {}


class ContextError(EnactError):
    """A context class is misused (not registered, or not set in this thread)."""


class NoActiveContext(ContextError):
    """No instance of the context class is active."""


def register(cls: type[C]) -> type[C]:
    """Class decorator giving ``cls`` its own context variable.

    Subclasses of a registered class are not registered by this.

    Raises:
        AssertionError: if ``cls`` is already registered.
    """
    assert cls not in _variables, f"{cls.__qualname__} is already registered."
    var: contextvars.ContextVar[Any] = contextvars.ContextVar(
        f"enact.contexts.{cls.__qualname__}", default=_UNSET
    )
    var.set(None)
    _variables[cls] = var
    return cls


def variable(cls: type) -> contextvars.ContextVar[Any]:
    """The context variable of a registered class (for enact's hot paths).

    Its value is :data:`UNSET` in a thread that never initialised it.
    """
    return _variable(cls)


def _variable(cls: type) -> contextvars.ContextVar[Any]:
    try:
        return _variables[cls]
    except KeyError:
        raise ContextError(
            f"Context class {cls.__qualname__} is not registered; decorate it "
            "with @enact.contexts.register."
        ) from None


class Context:
    """Base class of objects that can be made current with ``with``.

    Subclasses may define ``__init__`` without calling ``super().__init__()``.
    """

    @classmethod
    def get_current(cls: type[C]) -> C | None:
        """Returns the innermost active instance, or None.

        Raises:
            ContextError: if the class is not registered, or its variable was
                never initialised in this thread.
        """
        value = _variable(cls).get()
        if value is _UNSET:
            raise ContextError(
                f"Context {cls.__qualname__} was not initialised in this thread. "
                "Wrap the thread's target with enact.contexts.with_current_contexts "
                "or enact.contexts.with_new_contexts."
            )
        return value  # type: ignore[no-any-return]

    @classmethod
    def current(cls: type[C]) -> C:
        """Returns the innermost active instance.

        Raises:
            NoActiveContext: if there is none.
        """
        value = cls.get_current()
        if value is None:
            raise NoActiveContext(
                f"No active {cls.__qualname__}; use `with <{cls.__qualname__}>:`."
            )
        return value

    @classmethod
    @contextlib.contextmanager
    def top_level(cls) -> Iterator[None]:
        """Temporarily hides every active instance of this class."""
        var = _variable(cls)
        token = var.set(None)
        try:
            yield
        finally:
            var.reset(token)

    def enter(self) -> None:
        """Hook run on entry, while the previous instance is still current."""

    def exit(self) -> None:
        """Hook run on exit, after the previous instance is current again."""

    def __enter__(self: C) -> C:
        cls = type(self)
        cls.get_current()
        self.enter()
        token = _variable(cls).set(self)
        _entered.set((*_entered.get(), (self, token)))
        return self

    def __exit__(self, *exc_info: object) -> None:
        entered = _entered.get()
        for index in range(len(entered) - 1, -1, -1):
            if entered[index][0] is self:
                break
        else:
            raise ContextError(
                f"This {type(self).__qualname__} was not entered in this thread "
                "or task, so it cannot be exited here."
            )
        _entered.set(entered[:index] + entered[index + 1 :])
        _variable(type(self)).reset(entered[index][1])
        self.exit()


# The restore tokens of the contexts entered in this thread or task, innermost
# last. A token only works in the context that created it, so the tokens live in
# a context variable rather than on the instance: one instance may then be
# entered in several threads or tasks at once, and re-entered while active.
_entered: contextvars.ContextVar[tuple[tuple[Context, contextvars.Token[Any]], ...]] = (
    contextvars.ContextVar("enact.contexts.entered", default=())
)


def _snapshot() -> dict[contextvars.ContextVar[Any], Any]:
    return {var: var.get() for var in _variables.values()}


@contextlib.contextmanager
def _applied(values: dict[contextvars.ContextVar[Any], Any]) -> Iterator[None]:
    tokens = [(var, var.set(value)) for var, value in values.items()]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


@contextlib.contextmanager
def new_contexts() -> Iterator[None]:
    """Within the block no context of any registered class is active.

    As in a thread started with :func:`with_new_contexts`: for code that runs
    in threads it did not start itself (a web server's worker threads).
    """
    with _applied(dict.fromkeys(_variables.values())):
        yield


def with_current_contexts(fun: F) -> F:
    """Wraps ``fun`` to run with the contexts that are current now.

    Use it for the target of a new thread so the thread sees the caller's store.
    """
    values = _snapshot()

    @functools.wraps(fun)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _applied(values):
            return fun(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def with_new_contexts(fun: F) -> F:
    """Wraps ``fun`` to run with no active context of any registered class."""

    @functools.wraps(fun)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _applied(dict.fromkeys(_variables.values())):
            return fun(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
