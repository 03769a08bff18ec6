"""Thread- and asyncio-aware context stacks (docs/compatibility.md#contexts)."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable
from typing import Any

import pytest

import enact
from enact import contexts
from enact.contexts import Context, ContextError, NoActiveContext


@contexts.register
class Scope(Context):
    """A registered context whose __init__ does not call super().__init__()."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.log: list[tuple[str, Any]] = []

    def enter(self) -> None:
        self.log.append(("enter", Scope.get_current()))

    def exit(self) -> None:
        self.log.append(("exit", Scope.get_current()))

    def __repr__(self) -> str:
        return f"Scope({self.name!r})"


@contexts.register
class Other(Context):
    pass


class SubScope(Scope):
    """Not registered: subclasses of a registered class are not."""


def run_in_thread(target: Callable[[], Any]) -> Any:
    """Runs ``target`` in a new thread; returns its result or raises its error."""
    outcome: dict[str, Any] = {}

    def main() -> None:
        try:
            outcome["result"] = target()
        except BaseException as error:  # handed back to the caller
            outcome["error"] = error

    thread = threading.Thread(target=main)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


# -- current and get_current ---------------------------------------------------


def test_nothing_is_current_initially():
    assert Scope.get_current() is None
    with pytest.raises(NoActiveContext):
        Scope.current()


def test_with_makes_the_instance_current_and_returns_it():
    scope = Scope("a")
    with scope as entered:
        assert entered is scope
        assert Scope.current() is scope
        assert Scope.get_current() is scope
    assert Scope.get_current() is None


def test_contexts_of_one_class_form_a_stack():
    outer, inner = Scope("outer"), Scope("inner")
    with outer:
        with inner:
            assert Scope.current() is inner
        assert Scope.current() is outer
    assert Scope.get_current() is None


def test_classes_have_separate_stacks():
    scope, other = Scope("s"), Other()
    with scope, other:
        assert Scope.current() is scope
        assert Other.current() is other
    with scope:
        assert Other.get_current() is None


def test_top_level_hides_the_current_instance():
    scope = Scope("s")
    with scope:
        with Scope.top_level():
            assert Scope.get_current() is None
            with pytest.raises(NoActiveContext):
                Scope.current()
            inner = Scope("inner")
            with inner:
                assert Scope.current() is inner
            assert Scope.get_current() is None
        assert Scope.current() is scope


def test_top_level_restores_on_error():
    scope = Scope("s")
    with scope:
        with pytest.raises(ValueError), Scope.top_level():
            raise ValueError
        assert Scope.current() is scope


def test_enter_hook_sees_the_previous_instance_and_exit_hook_the_restored_one():
    outer, inner = Scope("outer"), Scope("inner")
    with outer, inner:
        pass
    assert outer.log == [("enter", None), ("exit", None)]
    assert inner.log == [("enter", outer), ("exit", outer)]


def test_exceptions_are_not_suppressed_and_the_stack_is_restored():
    scope = Scope("s")
    with pytest.raises(KeyError), scope:
        raise KeyError("x")
    assert Scope.get_current() is None
    assert scope.log[-1] == ("exit", None)


def test_sequential_reuse_of_an_instance():
    scope = Scope("s")
    with scope:
        pass
    with scope:
        assert Scope.current() is scope
    assert Scope.get_current() is None


def test_nested_reuse_of_an_instance():
    # Nesting the same instance is supported (compatibility.md, difference 9).
    first, second = Scope("1"), Scope("2")
    with first:
        with second:
            with first:
                assert Scope.current() is first
            assert Scope.current() is second
        assert Scope.current() is first
    assert Scope.get_current() is None


def test_one_instance_entered_in_two_threads_at_once():
    # The first thread to enter exits first, while the second is still inside.
    scope = Scope("shared")
    first_inside, second_inside, first_done = (threading.Event() for _ in range(3))

    def first() -> Any:
        with scope:
            first_inside.set()
            second_inside.wait(30)
            seen = Scope.current()
        first_done.set()
        return seen, Scope.get_current()

    def second() -> Any:
        first_inside.wait(30)
        with scope:
            second_inside.set()
            first_done.wait(30)
            seen = Scope.current()
        return seen, Scope.get_current()

    results: dict[str, Any] = {}

    def run(name: str, target: Callable[[], Any]) -> None:
        try:
            results[name] = contexts.with_new_contexts(target)()
        finally:
            first_inside.set()
            second_inside.set()
            first_done.set()

    threads = [
        threading.Thread(target=run, args=(name, target))
        for name, target in (("first", first), ("second", second))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {"first": (scope, None), "second": (scope, None)}


def test_one_instance_entered_in_two_tasks_at_once():
    # The first task to enter exits first, while the second is still inside.
    scope = Scope("shared")

    async def main() -> list[Any]:
        first_inside, second_inside, first_done = (asyncio.Event() for _ in range(3))

        async def first() -> Any:
            with scope:
                first_inside.set()
                await second_inside.wait()
                seen = Scope.current()
            first_done.set()
            return seen, Scope.get_current()

        async def second() -> Any:
            await first_inside.wait()
            with scope:
                second_inside.set()
                await first_done.wait()
                seen = Scope.current()
            return seen, Scope.get_current()

        return await asyncio.wait_for(asyncio.gather(first(), second()), 30)

    assert asyncio.run(main()) == [(scope, None), (scope, None)]


def test_exit_without_enter_raises_context_error():
    with pytest.raises(ContextError):
        Scope("never entered").__exit__(None, None, None)


def test_context_without_init_works():
    other = Other()
    with other:
        assert Other.current() is other


# -- registration --------------------------------------------------------------


def test_unregistered_subclass_raises_context_error():
    with pytest.raises(ContextError) as info:
        SubScope.get_current()
    assert not isinstance(info.value, NoActiveContext)
    with pytest.raises(ContextError):
        SubScope.current()
    with pytest.raises(ContextError):
        with SubScope("x"):
            pass
    with pytest.raises(ContextError):
        with SubScope.top_level():
            pass


def test_unregistered_class_raises_context_error():
    class Loose(Context):
        pass

    with pytest.raises(ContextError, match="not registered"):
        Loose.get_current()


def test_registering_twice_is_an_assertion_error():
    class Twice(Context):
        pass

    assert contexts.register(Twice) is Twice
    with pytest.raises(AssertionError):
        contexts.register(Twice)


def test_error_hierarchy():
    assert issubclass(NoActiveContext, ContextError)
    assert issubclass(ContextError, Exception)
    assert enact.contexts is contexts


def test_library_contexts_are_registered():
    from enact import invocations

    for cls in (enact.Store, invocations.ReplayContext, invocations.Builder):
        assert cls.get_current() is None


# -- threads -------------------------------------------------------------------


def test_raw_thread_gets_context_error():
    def target() -> None:
        with Scope("t"):
            pass

    with pytest.raises(ContextError) as info:
        run_in_thread(target)
    assert not isinstance(info.value, NoActiveContext)
    with pytest.raises(ContextError):
        run_in_thread(Scope.get_current)


def test_raw_thread_store_lookup_gets_context_error():
    with pytest.raises(ContextError) as info:
        run_in_thread(enact.Store.get_current)
    assert "with_current_contexts" in str(info.value)


def test_with_new_contexts_starts_an_empty_stack():
    scope = Scope("outer")

    def target() -> tuple[Any, Any]:
        before = Scope.get_current()
        inner = Scope("inner")
        with inner:
            during = Scope.current()
        return before, during is inner

    with scope:
        assert run_in_thread(contexts.with_new_contexts(target)) == (None, True)
        # Also in the same thread.
        assert contexts.with_new_contexts(Scope.get_current)() is None
        assert Scope.current() is scope


def test_with_current_contexts_carries_the_stack_into_a_thread():
    outer, inner = Scope("outer"), Scope("inner")
    with outer, inner:
        target = contexts.with_current_contexts(Scope.current)
    assert Scope.get_current() is None
    # The snapshot is taken at decoration time, not at call time.
    assert run_in_thread(target) is inner
    assert target() is inner
    assert Scope.get_current() is None


def test_with_current_contexts_restores_after_the_call():
    outer = Scope("outer")
    with outer:
        target = contexts.with_current_contexts(lambda x: (Scope.current(), x))
    other = Scope("other")
    with other:
        assert target(5) == (outer, 5)
        assert Scope.current() is other


def test_with_current_contexts_leaves_unmanaged_variables_alone():
    unmanaged: contextvars.ContextVar[str] = contextvars.ContextVar(
        "unmanaged", default="d"
    )
    unmanaged.set("outer")
    target = contexts.with_current_contexts(unmanaged.get)
    assert run_in_thread(target) == "d"


def test_wrappers_keep_the_function_metadata():
    def documented(x: int) -> int:
        """Doc."""
        return x

    for wrap in (contexts.with_current_contexts, contexts.with_new_contexts):
        wrapped = wrap(documented)
        assert wrapped.__name__ == "documented"
        assert wrapped.__doc__ == "Doc."
        assert wrapped(3) == 3


# -- asyncio -------------------------------------------------------------------


def test_asyncio_tasks_inherit_the_current_context():
    scope = Scope("s")

    async def child() -> Any:
        return Scope.current()

    async def main() -> tuple[Any, Any]:
        with scope:
            inherited = await asyncio.create_task(child())
        return inherited, Scope.get_current()

    assert asyncio.run(main()) == (scope, None)


def test_asyncio_tasks_have_separate_stacks():
    first, second = Scope("1"), Scope("2")

    async def worker(scope: Scope, ready: asyncio.Event, go: asyncio.Event) -> Any:
        with scope:
            ready.set()
            await go.wait()
            return Scope.current()

    async def main() -> list[Any]:
        events = [(asyncio.Event(), asyncio.Event()) for _ in range(2)]
        tasks = [
            asyncio.create_task(worker(scope, ready, go))
            for scope, (ready, go) in zip((first, second), events, strict=True)
        ]
        for ready, _ in events:
            await ready.wait()
        for _, go in events:
            go.set()
        return await asyncio.gather(*tasks)

    assert asyncio.run(main()) == [first, second]
