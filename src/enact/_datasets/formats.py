"""The layouts of exported rows, and a check of each row against its layout.

``generic``
    Every selected call: lineage columns, then ``input``, ``output``,
    ``error``, ``context`` (the input of the call that made it), ``score``,
    ``label``, ``correction`` and ``feedback`` (each feedback's fields).
``sft``
    Chat fine-tuning rows in the OpenAI ``messages`` layout, from chat-model
    calls (the input has ``messages``, the output a ``message``, each with
    ``role`` and ``content``); a correction replaces the model's answer.
``dpo`` / ``openai-dpo``
    Preference pairs (see :mod:`enact._datasets.pairs`): TRL's ``prompt``,
    ``chosen``, ``rejected``; OpenAI's ``input``, ``preferred_output``,
    ``non_preferred_output``.
``kto``
    Unpaired labels: ``prompt``, ``completion``, ``label`` from thumbs up
    and down (a ``True``/``False`` label).
``stepwise``
    ``prompt``, ``completions``, ``labels``: a call's input, the outputs of
    its children in order and their ``True``/``False`` labels (every child
    must be labelled).

Every row of the training layouts has an ``enact`` column with the lineage
of the call(s) it comes from, unless the export leaves lineage out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, NoReturn

from enact._datasets.calls import Call
from enact._datasets.calls import children_of as walk_children
from enact._datasets.select import Lineage, Picked, Selected, selected_of
from enact._datasets.values import (
    DatasetError,
    UnencodableValue,
    _Unencodable,
    text_of,
    to_json,
)
from enact._invocations.calls import CallArgs
from enact._runs.access import within
from enact.feedback import Feedback, summary
from enact.references import Ref, Store

__all__ = [
    "FORMATS",
    "InvalidRow",
    "chat_input",
    "chat_output",
    "encode",
    "encode_at",
    "feedback_json",
    "format_rows",
    "generic_row",
    "kto_row",
    "prompt_of",
    "completion_of",
    "sft_row",
    "stepwise_row",
    "read_ref",
    "best_output",
    "validate",
]

FORMATS = ("generic", "sft", "dpo", "openai-dpo", "kto", "stepwise")
ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})


class InvalidRow(DatasetError):
    """A row that does not fit its format.

    Attributes:
        row: The row's number (0 for the first).
        format: The format.
    """

    def __init__(self, message: str, row: int, format: str) -> None:
        super().__init__(f"row {row} is not a valid {format} row: {message}")
        self.row = row
        self.format = format


def encode(
    value: Any, selected: Selected, row: int, field: str, by_reference: bool
) -> Any:
    """The JSON form of a value of a selected call, or a clear error."""
    return encode_at(value, selected.lineage, row, field, by_reference)


def encode_at(
    value: Any, call: Lineage, row: int, field: str, by_reference: bool
) -> Any:
    """The JSON form of a value of the call ``call`` names, or a clear error."""
    try:
        return to_json(value, by_reference=by_reference, where=field)
    except _Unencodable as error:
        raise UnencodableValue(
            f"row {row} (run {call.run}, call at {list(call.path)}, "
            f"{call.component}): {error.where}: {error.reason}",
            row,
            call.run,
            call.path,
            error.where,
        ) from None


def generic_row(selected: Selected, row: int, by_reference: bool) -> dict[str, Any]:
    """The generic row of a selected call."""
    call = selected.call

    def cell(value: Any, field: str) -> Any:
        return encode(value, selected, row, field, by_reference)

    correction = selected.summary["correction"]
    fixed = None
    if correction is not None:
        fixed = cell(read_ref(selected, correction), "correction")
    return {
        **selected.lineage.to_json(),
        "input": cell(call.input, "input"),
        "output": cell(call.output, "output"),
        "error": call.error,
        "context": cell(call.parent_input, "context"),
        "score": selected.summary["score"],
        "label": selected.summary["label"],
        "correction": fixed,
        "feedback": feedback_json(selected.feedback),
    }


def feedback_json(notes: Iterable[Feedback]) -> list[dict[str, Any]]:
    """The ``feedback`` cell of a generic row: each feedback's fields."""
    return [
        {
            "id": note.id,
            "score": note.score,
            "label": note.label,
            "comment": note.comment,
            "correction": None if note.correction is None else note.correction.digest,
            "source": note.source,
            "created": note.created,
            "updated": note.updated,
        }
        for note in notes
    ]


def read_ref(selected: Selected, ref: Ref[Any]) -> Any:
    """The value a ref names, read from the selected call's store."""
    fresh: Ref[Any] = Ref(ref.digest)
    return within(selected.run.store, fresh.checkout)


def _message(value: Any) -> dict[str, Any] | None:
    role = getattr(value, "role", None)
    if not isinstance(role, str) or not hasattr(value, "content"):
        return None
    content = value.content
    if content is not None and not isinstance(content, str):
        return None
    return {"role": str(role), "content": None if content is None else str(content)}


def _messages(value: Any) -> list[dict[str, Any]] | None:
    if not isinstance(value, (list, tuple)) or not value:
        return None
    found = [_message(each) for each in value]
    if any(each is None for each in found):
        return None
    return [each for each in found if each is not None]


def chat_input(value: Any) -> list[dict[str, Any]] | None:
    """The messages a chat-model call was given, or None for another call.

    A chat call's input has ``messages`` (a list of objects with ``role`` and
    ``content``), or is the arguments of a function called with them.
    """
    if isinstance(value, CallArgs):
        args, kwargs = value.plain_args()
        if "messages" in kwargs:
            return _messages(kwargs["messages"])
        return _messages(args[0]) if args else None
    return _messages(getattr(value, "messages", None))


def chat_output(value: Any) -> dict[str, Any] | None:
    """The message a chat-model call returned (``output.message``), or None."""
    message = getattr(value, "message", None)
    if message is not None:
        return _message(message)
    return _message(value)


def prompt_of(call: Call) -> Any:
    """A call's input as a prompt: its messages for a chat call, else text."""
    messages = chat_input(call.input)
    return messages if messages is not None else text_of(_single(call.input))


def completion_of(call: Call, output: Any) -> Any:
    """An output as a completion: ``[assistant message]`` for a chat call."""
    message = chat_output(output)
    if message is not None and chat_input(call.input) is not None:
        return [message]
    return text_of(output)


def _single(value: Any) -> Any:
    """The one argument of a function call (a prompt of one string)."""
    if isinstance(value, CallArgs) and len(value.args) == 1 and not value.kwargs:
        return value.plain_args()[0][0]
    return value


def best_output(selected: Selected) -> Any:
    """The call's output, or the latest correction of it."""
    correction = selected.summary["correction"]
    if correction is not None:
        return read_ref(selected, correction)
    return selected.call.output


def sft_row(selected: Selected, row: int, by_reference: bool) -> dict[str, Any] | None:
    """An SFT row of a chat call (None for a call that is not one)."""
    del row, by_reference
    messages = chat_input(selected.call.input)
    if messages is None or selected.call.output_digest is None:
        return None
    answer = chat_output(best_output(selected))
    if answer is None:
        return None
    return {"messages": [*messages, answer]}


def kto_row(selected: Selected, row: int, by_reference: bool) -> dict[str, Any] | None:
    """A KTO row of a call with thumbs up or down (None without them)."""
    del row, by_reference
    label = selected.summary["label"]
    if not isinstance(label, bool) or selected.call.output_digest is None:
        return None
    return {
        "prompt": prompt_of(selected.call),
        "completion": completion_of(selected.call, selected.call.output),
        "label": label,
    }


def stepwise_row(
    selected: Selected, row: int, by_reference: bool
) -> dict[str, Any] | None:
    """A stepwise row of a call whose children are all labelled True/False."""
    del row, by_reference
    call = selected.call
    if not call.children:
        return None
    labels = []
    for index in range(len(call.children)):
        notes = selected.store_feedback.get((call.run_id, (*call.path, index)), ())
        label = summary(notes)["label"]
        if not isinstance(label, bool):
            return None
        labels.append(label)
    steps = [text_of(each.output) for each in walk_children(selected.run, call)]
    return {"prompt": prompt_of(selected.call), "completions": steps, "labels": labels}


def format_rows(
    picks: Iterable[Picked],
    store: Store,
    notes_by_call: dict[tuple[str, tuple[int, ...]], list[Feedback]],
    format: str,
    by_reference: bool,
    lineage: bool,
) -> Iterator[dict[str, Any]]:
    """The rows of ``format`` (not a preference format) of picked calls, each
    checked against it (rows numbered from 0 in errors)."""
    build = _BUILDERS[format]
    number = 0
    for picked in picks:
        selected = selected_of(picked, store, notes_by_call)
        row = build(selected, number, by_reference)
        if row is None:
            continue
        if format != "generic" and lineage:
            row["enact"] = selected.lineage.to_json()
        validate(row, format, number)
        yield row
        number += 1


def _check_messages(value: Any, where: str, fail: Callable[[str], NoReturn]) -> None:
    if not isinstance(value, list) or not value:
        fail(f"{where} must be a non-empty list of messages")
        return
    for number, message in enumerate(value):
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            fail(f"{where}[{number}] has no role among {sorted(ROLES)}")
        elif not isinstance(message.get("content"), str):
            fail(f"{where}[{number}] has no text content")


def _check_text_or_messages(
    value: Any, where: str, fail: Callable[[str], NoReturn]
) -> None:
    if isinstance(value, str):
        return
    _check_messages(value, where, fail)


def validate(row: dict[str, Any], format: str, number: int) -> None:
    """Checks a row against its format.

    Raises:
        InvalidRow: naming the row and what is wrong.
    """

    def fail(message: str) -> NoReturn:
        raise InvalidRow(message, number, format)

    if not isinstance(row, dict):
        fail("a row is a JSON object")
    if format == "generic":
        for column in ("run", "path", "invocation", "component", "component_digest"):
            if column not in row:
                fail(f"it has no {column!r} column")
        if not isinstance(row["path"], list) or not all(
            type(i) is int for i in row["path"]
        ):
            fail("its path is not a list of numbers")
    elif format == "sft":
        _check_messages(row.get("messages"), "messages", fail)
        if row["messages"][-1]["role"] != "assistant":
            fail("its last message is not the assistant's")
    elif format == "dpo":
        _check_text_or_messages(row.get("prompt"), "prompt", fail)
        for key in ("chosen", "rejected"):
            _check_text_or_messages(row.get(key), key, fail)
        if row["chosen"] == row["rejected"]:
            fail("chosen and rejected are the same")
    elif format == "openai-dpo":
        given = row.get("input")
        if not isinstance(given, dict):
            fail("input must be an object with messages")
        _check_messages(given.get("messages"), "input.messages", fail)
        for key in ("preferred_output", "non_preferred_output"):
            _check_messages(row.get(key), key, fail)
            if row[key][-1]["role"] != "assistant":
                fail(f"{key} is not an assistant message")
        if row["preferred_output"] == row["non_preferred_output"]:
            fail("the preferred and non-preferred outputs are the same")
    elif format == "kto":
        _check_text_or_messages(row.get("prompt"), "prompt", fail)
        _check_text_or_messages(row.get("completion"), "completion", fail)
        if not isinstance(row.get("label"), bool):
            fail("its label must be true or false")
    elif format == "stepwise":
        _check_text_or_messages(row.get("prompt"), "prompt", fail)
        completions, labels = row.get("completions"), row.get("labels")
        if not isinstance(completions, list) or not all(
            isinstance(each, str) for each in completions
        ):
            fail("completions must be a list of texts")
        if not isinstance(labels, list) or not all(
            isinstance(each, bool) for each in labels
        ):
            fail("labels must be a list of true/false")
        if not completions or len(completions) != len(labels):
            fail("it needs one label per completion, and at least one")
    else:
        raise DatasetError(f"unknown format {format!r}: one of {', '.join(FORMATS)}")
    lineage = row.get("enact")
    if lineage is not None and not isinstance(lineage, (dict, list)):
        fail("its enact column is not lineage")


_BUILDERS: dict[str, Callable[[Selected, int, bool], dict[str, Any] | None]] = {
    "generic": generic_row,
    "sft": sft_row,
    "kto": kto_row,
    "stepwise": stepwise_row,
}
