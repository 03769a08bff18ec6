"""numpy arrays and Pillow images as plain values, through wrappers that load
only when such a value is met."""

from __future__ import annotations

import dataclasses
import pathlib
import subprocess
import sys

import numpy as np
import PIL.Image
import pytest

import enact


@enact.register
@dataclasses.dataclass
class Holder(enact.Resource):
    array: object
    image: object = None


def test_numpy_array_round_trip(store: enact.Store) -> None:
    array = np.arange(12, dtype=np.float32).reshape(3, 4)
    with store:
        ref = enact.commit(array)
        back = enact.Ref(ref.digest).checkout()
    assert isinstance(back, np.ndarray)
    assert back.dtype == array.dtype and (back == array).all()


def test_image_round_trip(store: enact.Store) -> None:
    image = PIL.Image.new("RGB", (3, 2), (10, 20, 30))
    with store:
        back = enact.Ref(enact.commit(image).digest).checkout()
    assert isinstance(back, PIL.Image.Image)
    assert back.size == (3, 2) and back.getpixel((1, 1)) == (10, 20, 30)


def test_as_resource_fields(store: enact.Store) -> None:
    value = Holder(np.ones(3), PIL.Image.new("L", (1, 1), 7))
    with store:
        back = enact.Ref(enact.commit(value).digest).checkout()
    assert (back.array == np.ones(3)).all()
    assert back.image.getpixel((0, 0)) == 7


def test_object_arrays_are_refused() -> None:
    with pytest.raises(enact.FieldTypeError) as caught:
        enact.wrap(np.array([object()], dtype=object))
    assert "pickle" in str(caught.value)


def test_equal_arrays_have_equal_digests() -> None:
    assert enact.resource_digest(np.arange(3)) == enact.resource_digest(np.arange(3))
    assert enact.resource_digest(np.arange(3)) != enact.resource_digest(np.arange(4))


def test_a_fresh_process_reads_a_stored_array(tmp_path: pathlib.Path) -> None:
    with enact.FileStore(tmp_path) as store:
        ref = store.commit(np.arange(5))  # type: ignore[arg-type]
    code = (
        "import sys, enact\n"
        f"store = enact.FileStore({str(tmp_path)!r})\n"
        f"value = store.checkout(enact.Ref({ref.digest!r}))\n"
        "assert 'numpy' in sys.modules, 'loaded on demand'\n"
        "print(type(value).__name__, value.tolist())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ndarray [0, 1, 2, 3, 4]"


pydantic = pytest.importorskip("pydantic")


@enact.register
class Message(pydantic.BaseModel):
    role: str
    text: str
    score: float = 0.5


@enact.register(name="tests.integrations.Thread")
class Thread(pydantic.BaseModel):
    messages: list[Message]


def test_pydantic_models_round_trip(store: enact.Store) -> None:
    thread = Thread(
        messages=[Message(role="user", text="hi"), Message(role="ai", text="yo")]
    )
    with store:
        back = enact.Ref(enact.commit(thread).digest).checkout()
        in_field = enact.Ref(enact.commit(Holder([thread])).digest).checkout()
    assert back == thread and isinstance(back.messages[0], Message)
    assert in_field.array == [thread]


def test_pydantic_digest_follows_the_content() -> None:
    a, b = Message(role="u", text="x"), Message(role="u", text="y")
    assert enact.resource_digest(a) == enact.resource_digest(
        Message(role="u", text="x")
    )
    assert enact.resource_digest(a) != enact.resource_digest(b)


def test_unregistered_pydantic_models_are_refused() -> None:
    class Loose(pydantic.BaseModel):
        x: int

    with pytest.raises(enact.FieldTypeError) as caught:
        enact.wrap(Loose(x=1))
    assert "register" in str(caught.value)


def test_registered_functions_take_and_return_models(store: enact.Store) -> None:
    @enact.register
    def reply(message: Message) -> Message:
        return Message(role="ai", text=message.text.upper())

    with store:
        run = enact.invoke(reply, (Message(role="user", text="hi"),))
        assert run.get_output() == Message(role="ai", text="HI")
        assert run.replay().get_output() == Message(role="ai", text="HI")
