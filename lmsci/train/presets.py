"""Named model shapes for ``model.preset``: the data lives in :mod:`lmsci.conf.presets` (config
needs it to fill ``model:``, and config imports nothing from ``train/``)."""
from lmsci.conf.presets import PRESETS, llama_ffn

__all__ = ["PRESETS", "llama_ffn"]
