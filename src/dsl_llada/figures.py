"""Figures from the result tables only (no model, no GPU): reviewers rebuild them from CSVs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {"figure.dpi": 110, "savefig.bbox": "tight", "font.size": 9, "svg.hashsalt": "dsl-llada", "pdf.fonttype": 42}
    )
    return plt


def _save(fig, png: str | Path, pdf: str | Path) -> None:
    fig.tight_layout()
    for path in (png, pdf):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, metadata={"Software": None})
    fig.savefig(pdf, metadata={"CreationDate": None, "Producer": None})


def _sweep(rouge_csv) -> pd.DataFrame:
    frame = pd.read_csv(rouge_csv)
    return frame[~frame["reference"]]


def plot_rouge_vs_nfe(rouge_csv, png, pdf) -> None:
    """ROUGE-1 vs NFE per benchmark, one line per method with its bootstrap CI as error bars
    (tables without CI columns draw none); dashed: the steps = G reference."""
    plt = _pyplot()
    frame = pd.read_csv(rouge_csv)
    sweep = frame[~frame["reference"]]
    benches = list(dict.fromkeys(frame["benchmark"]))
    fig, axes = plt.subplots(1, len(benches), figsize=(3.6 * len(benches), 3.0), squeeze=False)
    for ax, bench in zip(axes[0], benches):
        for method, part in sweep[sweep["benchmark"] == bench].groupby("method"):
            if {"rouge1_ci_low", "rouge1_ci_high"} <= set(part.columns):
                err = [part["rouge1"] - part["rouge1_ci_low"], part["rouge1_ci_high"] - part["rouge1"]]
                ax.errorbar(part["nfe"], part["rouge1"], yerr=err, marker="o", capsize=2, label=method)
            else:
                ax.plot(part["nfe"], part["rouge1"], marker="o", label=method)
        ref = frame[(frame["benchmark"] == bench) & frame["reference"]]
        for _, row in ref.iterrows():
            how = "AR, greedy" if row["sampler"] == "ar" else "steps=G"
            ax.axhline(row["rouge1"], ls="--", c="grey", lw=0.8, label=f"{row['method']} @ {how}")
        ax.set_xscale("log", base=2)
        ax.set_title(bench)
        ax.set_xlabel("NFE")
        ax.set_ylabel("ROUGE-1")
    axes[0][-1].legend(fontsize=7, loc="best")
    _save(fig, png, pdf)
    plt.close(fig)


def plot_length_repetition(rouge_csv, png, pdf) -> None:
    """Average words and 4-gram repetition % vs NFE (the paper's failure-mode diagnostics)."""
    plt = _pyplot()
    sweep = _sweep(rouge_csv)
    fig, axes = plt.subplots(1, 2, figsize=(7, 2.8))
    means = sweep.groupby(["method", "nfe"], as_index=False)[["avg_words", "repetition_pct"]].mean()
    for method, part in means.groupby("method"):
        axes[0].plot(part["nfe"], part["avg_words"], marker="o", label=method)
        axes[1].plot(part["nfe"], part["repetition_pct"], marker="o", label=method)
    for ax, label in zip(axes, ("average words (mean over benchmarks)", "4-gram repetition %")):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("NFE")
        ax.set_ylabel(label)
    axes[1].legend(fontsize=7)
    _save(fig, png, pdf)
    plt.close(fig)


def plot_robustness(robustness_csv, png, pdf) -> None:
    """Fix rate (grouped bars per corruption setting) and clean-preserved rate per model."""
    fig = robustness_figure(pd.read_csv(robustness_csv))
    _save(fig, png, pdf)
    _pyplot().close(fig)


def robustness_figure(frame: pd.DataFrame):
    """The robustness figure. Model names label horizontal bars (one row each) and the legend sits
    below the axes, so labels never overlap however many models there are (4 in `released`)."""
    plt = _pyplot()
    if "input" in frame:  # the paper's test only; the converter rows are a diagnostic (robustness.csv)
        frame = frame[frame["input"] == "wte"]
    frame = frame.copy()
    frame["setting"] = frame["corruption"] + " " + (frame["rate"] * 100).round().astype(int).astype(str) + "%"
    settings = list(dict.fromkeys(frame["setting"]))
    models = list(dict.fromkeys(frame["model"]))
    fig, axes = plt.subplots(1, 2, figsize=(9, 1.6 + 0.35 * max(len(models), 4)), gridspec_kw={"width_ratios": [2, 1]})
    width = 0.8 / len(models)
    for i, model in enumerate(models):
        part = frame[frame["model"] == model].set_index("setting").reindex(settings)
        xs = [j + i * width for j in range(len(settings))]
        axes[0].bar(xs, part["fix_rate"], width, label=model)
        axes[1].barh(i, part["clean_preserved"].mean(), 0.6, color=f"C{i}")
    axes[0].set_xticks(
        [j + 0.4 - width / 2 for j in range(len(settings))], settings, rotation=20, fontsize=7, ha="right"
    )
    axes[0].set_ylabel("fix rate %")
    axes[0].legend(fontsize=7, ncol=min(len(models), 4), loc="upper center", bbox_to_anchor=(0.5, -0.3), frameon=False)
    axes[1].set_yticks(range(len(models)), models, fontsize=7)
    axes[1].invert_yaxis()  # first model on top, as in the legend
    axes[1].set_xlabel("clean preserved % (mean)")
    fig.tight_layout()
    return fig


def plot_context_robustness(context_csv, png, pdf) -> None:
    """T-context [protocol §5.4]: masked-token accuracy vs % of visible tokens corrupted, one panel per
    mask rate, one line per model."""
    plt = _pyplot()
    frame = pd.read_csv(context_csv)
    rates = sorted(frame["mask_rate"].unique())
    fig, axes = plt.subplots(1, len(rates), figsize=(3.2 * len(rates), 2.8), squeeze=False, sharey=True)
    for ax, rate in zip(axes[0], rates):
        for model, part in frame[frame["mask_rate"] == rate].groupby("model", sort=False):
            part = part.sort_values("corrupt_pct")
            ax.plot(part["corrupt_pct"], part["accuracy"], marker="o", label=model)
        ax.set_title(f"mask {rate * 100:.0f}%")
        ax.set_xlabel("visible tokens corrupted %")
    axes[0][0].set_ylabel("masked-token accuracy %")
    axes[0][-1].legend(fontsize=7)
    _save(fig, png, pdf)
    plt.close(fig)


def plot_nfe_efficiency(quality_csv, png, pdf) -> None:
    """The paper's Figure 2 [protocol §6.3 item 2, data §6.2(e)]: GenPPL (log scale; hollow
    markers where the output loops and the perplexity is unreliable), adjacent-word repetition %
    with the 10 % line, and average words, each against NFE, one line per method."""
    plt = _pyplot()
    frame = pd.read_csv(quality_csv).sort_values(["method", "nfe"])
    fig, axes = plt.subplots(3, 1, figsize=(4.2, 7.2), sharex=True)
    for method, part in frame.groupby("method", sort=False):
        (line,) = axes[0].plot(part["nfe"], part["gen_ppl"], label=method)
        colour = line.get_color()
        reliable = ~part["ppl_unreliable"].astype(bool)
        axes[0].scatter(part["nfe"][reliable], part["gen_ppl"][reliable], color=colour, zorder=3)
        axes[0].scatter(
            part["nfe"][~reliable], part["gen_ppl"][~reliable], facecolors="white", edgecolors=colour, zorder=3
        )
        axes[1].plot(part["nfe"], part["repetition_pct"], marker="o", color=colour)
        axes[2].plot(part["nfe"], part["avg_words"], marker="o", color=colour)
    axes[0].set_yscale("log")
    axes[0].set_ylabel("GenPPL (hollow: unreliable, looping)")
    axes[1].axhline(10.0, ls="--", c="grey", lw=0.8)
    axes[1].set_ylabel("adjacent repetition %")
    axes[2].set_ylabel("average words")
    axes[2].set_xscale("log", base=2)
    axes[2].set_xticks(sorted(frame["nfe"].unique()), [str(n) for n in sorted(frame["nfe"].unique())])
    axes[2].set_xlabel("NFE")
    axes[0].legend(fontsize=7)
    _save(fig, png, pdf)
    plt.close(fig)


def plot_genquality_scatter(scatter_csv, png, pdf) -> None:
    """GenPPL against Distinct-2, one point per method at one NFE [protocol §6.2(d)]."""
    plt = _pyplot()
    frame = pd.read_csv(scatter_csv)
    fig, ax = plt.subplots(figsize=(4.2, 3.2))
    for _, row in frame.iterrows():
        ax.scatter(row["distinct2"], row["gen_ppl"], label=f"{row['method']} (NFE {row['nfe']})")
    ax.set_xlabel("Distinct-2 (higher = more diverse)")
    ax.set_ylabel("GenPPL (lower = more fluent)")
    ax.legend(fontsize=7)
    _save(fig, png, pdf)
    plt.close(fig)
