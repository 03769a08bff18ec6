"""A Gradio web app for one invokable: run it, read the journal, answer its
input requests (docs/compatibility.md#gradio-app).

Needs the optional ``gradio`` extra (``pip install 'enact[gradio]'``: gradio 5
and Pillow); ``import enact`` never imports it. From Python::

    import enact, enact.gradio

    with enact.InMemoryStore():
        gui = enact.gradio.GUI(enact.commit(MyInvokable()))
        gui.launch()

The implementation lives in the private package :mod:`enact._gradio`. For the
project's own web UI over stored runs, see :mod:`enact.ui` (``enact ui``).
"""

try:
    import gradio  # noqa: F401 - checked here so the message names the extra
    import PIL.Image  # noqa: F401
except ImportError as error:
    raise ImportError(
        f"enact.gradio needs the optional package {error.name!r}: "
        "pip install 'enact[gradio]'"
    ) from None

from enact._gradio.gui import GUI
from enact._gradio.widgets import (
    ImageWidget,
    JsonFieldWidget,
    RefWidget,
    ResourceWidget,
    StrWidget,
)

__all__ = [
    "GUI",
    "ResourceWidget",
    "RefWidget",
    "StrWidget",
    "ImageWidget",
    "JsonFieldWidget",
]
