"""Figures: labels stay readable with the presets' model counts [issue 12: 4 robustness models]."""

import itertools

import pandas as pd
import pytest

from dsl_llada.figures import robustness_figure


def _frame(models):
    rows = []
    for m, (kind, rate) in itertools.product(
        models, [("random", 0.1), ("random", 0.3), ("random", 0.5), ("semantic", 0.1), ("semantic", 0.3)]
    ):
        rows.append({"model": m, "corruption": kind, "rate": rate, "fix_rate": 40.0, "clean_preserved": 90.0})
    return pd.DataFrame(rows)


def _overlaps(boxes):
    return [(a, b) for a, b in itertools.combinations(boxes, 2) if a[1].overlaps(b[1])]


@pytest.mark.parametrize(
    "models", [["base", "dsl"], ["base", "mdm", "dsl"], ["base", "dsl", "dsl_beta2", "dsl_highpass"]]
)
def test_robustness_figure_labels_do_not_overlap(models):
    fig = robustness_figure(_frame(models))
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    texts = []
    for ax in fig.axes:
        texts += [t for t in ax.get_xticklabels() + ax.get_yticklabels() if t.get_text()]
        legend = ax.get_legend()
        if legend:
            texts += list(legend.get_texts())
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in texts]
    assert {m for m in models} <= {name for name, _ in boxes}
    assert not _overlaps(boxes), _overlaps(boxes)
