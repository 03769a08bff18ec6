"""The web UI: browse runs, expand their trees, answer input requests, fork.

``enact ui`` starts it; from Python::

    import enact, enact.ui

    store = enact.FileStore(".enact")
    enact.ui.serve(store)                      # http://127.0.0.1:8765/

The pages are rendered from Jinja2 templates with autoescaping and served,
with the HTTP API (:mod:`enact.api`) at the same address, by one FastAPI
application under uvicorn (``pip install 'enact[ui]'``). It binds loopback
by default; any other address needs an access token. See docs/ui.md.
"""

try:
    import jinja2  # noqa: F401 - checked here so the message names the extra
except ImportError:  # pragma: no cover - the extra is installed in the tests
    raise ImportError(
        "enact.ui needs the optional package 'jinja2': pip install 'enact[ui]'"
    ) from None

from enact.ui._security import UIError
from enact.ui._server import UIServer, make_server, serve

__all__ = ["UIError", "UIServer", "make_server", "serve"]
