import logging
import sys

sys.stderr = open(snakemake.log[0], "a", buffering=1)  # tqdm and warnings go to the rule log
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

"""Adapter: rule make_claims_table -> dsl_llada.tables (sampling and robustness claims)."""
from dsl_llada.tables import make_claims_table, robustness_claims, sampling_claims

p = snakemake.params
rows = sampling_claims(
    dict(zip(p.benches, snakemake.input.scores)), p.sampling["method"], p.sampling["baselines"], p.nfes, p.bootstrap
)
if p.robustness["against"]:
    rows += robustness_claims(
        dict(zip(p.models, snakemake.input.robustness)),
        p.robustness["model"],
        p.robustness["against"],
        p.robustness["corruption"],
        p.robustness["rate"],
        p.bootstrap,
    )
make_claims_table(rows, snakemake.output.claims)
