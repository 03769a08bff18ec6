"""An HTTP API over a store: runs, call trees, input requests, answers, objects.

Needs the ``ui`` extra (FastAPI and uvicorn): ``pip install 'enact[ui]'``.
``enact serve`` starts it from the command line; :func:`create_app` gives the
FastAPI application to mount or serve yourself. The OpenAPI description is
at ``/openapi.json`` and a browsable version at ``/docs``. See docs/api.md.
"""

try:
    import fastapi as _fastapi  # noqa: F401 - checked here, used by the modules
except ImportError:  # pragma: no cover - depends on the environment
    raise ModuleNotFoundError(
        "The HTTP API needs FastAPI and uvicorn: pip install 'enact[ui]'",
        name="fastapi",
    ) from None

from enact.api._app import create_app
from enact.api._serve import serve

__all__ = ["create_app", "serve"]
