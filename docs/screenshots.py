"""Makes the UI screenshots in docs/images/ from a real run of the demo.

Runs the demo's components (src/enact/demo.py) as durable runs in a new
store, starts the UI server on loopback, and photographs its pages in
headless Chromium (Debian's ``chromium``, driven by Playwright)::

    python docs/screenshots.py            # writes docs/images/ui-*.png

Needs ``pip install -e '.[dev]'`` and ``apt-get install chromium``.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import random
import tempfile
import threading

import enact
import enact.ui
from enact import runs
from enact.demo import EditedPoem, SampleLine, Score, WritePoem

IMAGES = pathlib.Path(__file__).resolve().parent / "images"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]
MAX_BYTES = 200_000


def make_runs() -> dict[str, str]:
    """The demo's flows as runs: a finished poem, a fork of it, one waiting."""
    random.seed(7)
    flow = WritePoem(SampleLine(), Score())
    poem = runs.run(flow, enact.Str("moon"), tags=["demo"])
    fork = poem.fork(at=(2,))
    waiting = runs.run(EditedPoem(flow), enact.Str("sea"), tags=["demo"])
    return {"poem": poem.id, "fork": fork.id, "waiting": waiting.id}


def shoot(url: str, ids: dict[str, str], out: pathlib.Path, chromium: str) -> None:
    """Photographs the runs list, a run's tree and the inbox."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 1100, "height": 640})

        page.goto(url + "/")
        page.screenshot(path=str(out / "ui-runs.png"))

        page.goto(url + f"/runs/{ids['poem']}")
        page.locator("details.call[data-path='']").evaluate("e => e.open = true")
        page.locator("details.call[data-path='1']").evaluate("e => e.open = true")
        page.set_viewport_size({"width": 1100, "height": 1000})
        page.screenshot(path=str(out / "ui-run.png"))

        page.set_viewport_size({"width": 1100, "height": 640})
        page.goto(url + "/inbox")
        page.locator("textarea[name='a.value']").fill("Night Song")
        page.screenshot(path=str(out / "ui-inbox.png"))
        browser.close()


def main(argv: list[str] | None = None) -> None:
    """Runs the demo into a temporary store and saves the screenshots."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=pathlib.Path, default=IMAGES)
    parser.add_argument(
        "--chromium", default=os.environ.get("ENACT_CHROMIUM", "/usr/bin/chromium")
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        os.chdir(folder)
        store = enact.FileStore(".enact")
        with store:
            ids = make_runs()
        server = enact.ui.make_server(store, port=0)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            shoot(server.url.rstrip("/"), ids, args.out, args.chromium)
        finally:
            server.shutdown()
            server.server_close()
            store.close()
    for image in sorted(args.out.glob("ui-*.png")):
        size = image.stat().st_size
        print(f"{image}: {size // 1000} KB")
        if size > MAX_BYTES:
            raise SystemExit(f"{image} is over {MAX_BYTES // 1000} KB")


if __name__ == "__main__":
    main()
