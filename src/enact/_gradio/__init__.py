"""The Gradio GUI (SPEC A13); :mod:`enact.gradio` is its public face."""
