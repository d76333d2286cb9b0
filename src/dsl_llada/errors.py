"""Error types shared across layers (no heavy imports, so any module may raise them)."""


class StageError(ValueError):
    """A stage cannot produce its output; the message names the file or record."""


class SamplerConfigError(ValueError):
    """Sampler settings that cannot run together; the message names the setting."""
