"""Sampler settings checked without torch: the config check runs them when the workflow is
parsed (so ``snakemake -n`` never imports torch), the samplers again before they run."""

from .errors import SamplerConfigError


def check_remasking_settings(gen_length: int, steps: int, block_length: int) -> None:
    """LLaDA's divisibility rules: gen_length % block_length == 0 and steps % blocks == 0."""
    if block_length <= 0 or gen_length % block_length:
        raise SamplerConfigError(f"gen_length {gen_length} is not divisible by block_length {block_length}")
    blocks = gen_length // block_length
    if steps % blocks:
        raise SamplerConfigError(f"steps {steps} is not divisible by the number of blocks {blocks}")
