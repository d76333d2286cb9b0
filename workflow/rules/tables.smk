# Tables only read the score files (compute rules write data; table rules read it).


rule make_rouge_tables:
    input:
        scores=score_dirs(),
        # [bertscore] BERTScore P/R/F1 columns of the hero and NFE-64 tables [protocol §4.3]
        bertscore=bertscore_files(),
    output:
        rouge=report(
            "results/tables/rouge.csv",
            caption="../report/rouge.rst",
            category="Tables",
        ),
        failures=report(
            "results/tables/failure_modes.csv",
            caption="../report/failure_modes.rst",
            category="Tables",
        ),
    log:
        "logs/make_rouge_tables.log",
    container:
        config["containers"]["cpu"]
    script:
        "../scripts/make_rouge_tables.py"


rule make_robustness_table:
    input:
        results=expand(
            "results/robustness/{model}.json", model=config["robustness"]["models"]
        ),
    output:
        table=report(
            "results/tables/robustness.csv",
            caption="../report/robustness_table.rst",
            category="Tables",
        ),
    log:
        "logs/make_robustness_table.log",
    container:
        config["containers"]["cpu"]
    params:
        models=config["robustness"]["models"],
    script:
        "../scripts/make_robustness_table.py"


# T-buckets [§4.3] needs both methods in the sampling grid; without them the table is dropped.
BUCKETS = config["buckets"]
if not {BUCKETS["method"], BUCKETS["baseline"]} <= set(METHODS):
    logger.warning(
        f"buckets: {BUCKETS['method']} or {BUCKETS['baseline']} is not a sampling method, "
        "so results/tables/buckets.csv is not built (set buckets.method / buckets.baseline)"
    )
    TABLES.remove("results/tables/buckets.csv")


rule make_buckets_table:
    input:
        scores=score_dirs(),
    output:
        table=report(
            "results/tables/buckets.csv",
            caption="../report/buckets.rst",
            category="Tables",
        ),
    log:
        "logs/make_buckets_table.log",
    container:
        config["containers"]["cpu"]
    params:
        method=BUCKETS["method"],
        baseline=BUCKETS["baseline"],
    script:
        "../scripts/make_buckets_table.py"


rule make_correction_table:
    input:
        results=expand(
            "results/correction/{model}.json", model=config["robustness"]["models"]
        ),
    output:
        table=report(
            "results/tables/correction.csv",
            caption="../report/correction.rst",
            category="Tables",
        ),
    log:
        "logs/make_correction_table.log",
    container:
        config["containers"]["cpu"]
    params:
        models=config["robustness"]["models"],
    script:
        "../scripts/make_correction_table.py"


rule make_context_table:
    input:
        results=expand(
            "results/context_robustness/{model}.json",
            model=config["robustness"]["models"],
        ),
    output:
        table=report(
            "results/tables/context_robustness.csv",
            caption="../report/context_robustness.rst",
            category="Tables",
        ),
    log:
        "logs/make_context_table.log",
    container:
        config["containers"]["cpu"]
    params:
        models=config["robustness"]["models"],
    script:
        "../scripts/make_context_table.py"


rule make_claims_table:
    input:
        scores=score_dirs(),
        robustness=expand("results/robustness/{model}.json", model=CLAIM_MODELS),
    output:
        claims=report(
            "results/tables/claims.csv",
            caption="../report/claims.rst",
            category="Tables",
        ),
    log:
        "logs/make_claims_table.log",
    container:
        config["containers"]["cpu"]
    params:
        benches=BENCHES,
        nfes=SWEEP_NFES,
        sampling=config["claims"]["sampling"],
        robustness=CLAIMS_ROBUSTNESS,
        models=CLAIM_MODELS,
        bootstrap=config["metrics"]["bootstrap"],
    script:
        "../scripts/make_claims_table.py"


# Markdown of the tables above (results/README.md's toy section is pasted from it).
rule make_summary:
    input:
        rouge="results/tables/rouge.csv",
        robustness="results/tables/robustness.csv",
        claims="results/tables/claims.csv",
    output:
        summary="results/tables/summary.md",
    log:
        "logs/make_summary.log",
    container:
        config["containers"]["cpu"]
    script:
        "../scripts/make_summary.py"
