"""Reviewers' path: the figures rebuild from the result tables alone (no model, no GPU)."""

import pandas as pd

from wfutil import job_counts, run_snakemake

ROUGE = pd.DataFrame(
    [
        dict(
            benchmark=b,
            method=m,
            model="base",
            sampler="remasking",
            nfe=n,
            forward_passes=n,
            reference=ref,
            n=10,
            rouge1=r1,
            rouge2=r1 / 3,
            rougeL=r1 * 0.8,
            avg_words=12.0,
            premature_pct=5.0,
            repetition_pct=3.0,
            degenerate_pct=1.0,
            degenerate_hero_pct=0.0,
            empty_pct=0.0,
            prompt_truncated=0,
        )
        for b in ("xsum", "pubmed")
        for m, n, ref, r1 in [
            ("llada", 8, False, 20.0),
            ("llada", 16, False, 25.0),
            ("dsl_sde", 8, False, 28.0),
            ("dsl_sde", 16, False, 30.0),
            ("llada", 64, True, 40.0),
        ]
    ]
)
ROBUST = pd.DataFrame(
    [
        dict(
            model=m,
            corruption=c,
            rate=r,
            fix_rate=f,
            clean_preserved=90.0 + f / 10,
            selective=f - 5,
            n=100,
            n_corrupted_tokens=700,
            n_truncated=0,
        )
        for m, f in (("base", 13.0), ("dsl", 60.0))
        for c, r in (("random", 0.1), ("semantic", 0.1))
    ]
)


def test_figures_target_needs_only_the_tables(workdir):
    tables = workdir / "results" / "tables"
    tables.mkdir(parents=True)
    ROUGE.to_csv(tables / "rouge.csv", index=False)
    ROBUST.to_csv(tables / "robustness.csv", index=False)
    # the figures these two tables draw (the others read their own tables the same way)
    targets = [
        f"results/figures/{n}.{e}" for n in ("rouge_vs_nfe", "length_repetition", "robustness") for e in ("png", "pdf")
    ]
    dry = run_snakemake([*targets, "-n", "--quiet", "rules"], cwd=workdir, timeout=120)
    assert job_counts(dry.stdout) == {"plot_figure": 3, "total": 3}
    run_snakemake([*targets, "--cores", "1"], cwd=workdir, timeout=300)
    for name in ("rouge_vs_nfe", "length_repetition", "robustness"):
        for ext in ("png", "pdf"):
            assert (workdir / "results" / "figures" / f"{name}.{ext}").stat().st_size > 1000
    assert not (workdir / "results" / "models").exists()
