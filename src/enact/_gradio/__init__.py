"""The Gradio GUI (docs/compatibility.md#gradio-app); :mod:`enact.gradio` is
its public face."""
