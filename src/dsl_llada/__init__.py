"""DSL-LLaDA: continuous denoising (DSL) for masked diffusion language models.

The package holds the whole method; the Snakemake workflow only calls it.
It never imports snakemake.
"""

__version__ = "0.1.0"
