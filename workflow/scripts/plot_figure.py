import logging
import sys

sys.stderr = open(snakemake.log[0], "a", buffering=1)  # tqdm and warnings go to the rule log
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

"""Adapter: rule plot_figure -> dsl_llada.figures.plot_<name>."""
from dsl_llada import figures

plot = getattr(figures, f"plot_{snakemake.wildcards.name}")
plot(snakemake.input.table, snakemake.output.png, snakemake.output.pdf)
