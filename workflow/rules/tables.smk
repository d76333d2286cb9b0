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
