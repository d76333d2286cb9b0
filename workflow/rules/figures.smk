# Figures read only the result tables: a reviewer rebuilds them with no model and no GPU.

FIGURE_TABLE = {
    "rouge_vs_nfe": "results/tables/rouge.csv",
    "length_repetition": "results/tables/rouge.csv",
    "robustness": "results/tables/robustness.csv",
    "context_robustness": "results/tables/context_robustness.csv",
    "nfe_efficiency": "results/tables/generation_quality.csv",
    "genquality_scatter": "results/tables/generation_quality_scatter.csv",
}


rule plot_figure:
    input:
        table=figure_table,
    output:
        png=report(
            "results/figures/{name}.png",
            caption="../report/figure.rst",
            category="Figures",
        ),
        pdf="results/figures/{name}.pdf",
    log:
        "logs/plot_figure/{name}.log",
    wildcard_constraints:
        name="|".join(FIGURE_TABLE),
    container:
        config["containers"]["cpu"]
    script:
        "../scripts/plot_figure.py"
