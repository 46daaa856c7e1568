"""Curation filters in measure/decide form: ``measure(text) -> attrs`` is pure and stored;
``decide(attrs, cfg) -> reason | None`` applies thresholds from config, so re-thresholding
never recomputes an attribute (Dolma's taggers and mixer; datatrove's named drop reasons)."""
