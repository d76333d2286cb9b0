"""Rule shape (style.md): every rule of workflow/rules/*.smk and the Snakefile is short (≤ 25
lines) and has no lambda; logic lives in named functions (common.smk) or the package."""

import io
import re
import tokenize

import pytest

from wfutil import REPO

MAX_RULE_LINES = 25
RULE_START = re.compile(r"^\s*(?:rule\s+(\w+)|checkpoint\s+(\w+)|use\s+rule\s+\w+\s+as\s+(\w+)\s+with)\s*:")


def rules_of(text: str) -> list[tuple[str, int, list[str]]]:
    """(name, first line number, lines) of every rule: from its header to its last indented line."""
    lines = text.splitlines()
    found = []
    for i, line in enumerate(lines):
        match = RULE_START.match(line)
        if not match:
            continue
        indent = len(line) - len(line.lstrip())
        body = [line]
        for nxt in lines[i + 1 :]:
            stripped = nxt.strip()
            if stripped and len(nxt) - len(nxt.lstrip()) <= indent:
                break
            body.append(nxt)
        while body and not body[-1].strip():
            body.pop()
        found.append((next(g for g in match.groups() if g), i + 1, body))
    return found


def has_lambda(lines: list[str]) -> bool:
    """A `lambda` keyword in code (not in a string or comment)."""
    text = "\n".join(line.strip() for line in lines) + "\n"
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, IndentationError):
        return bool(re.search(r"\blambda\b", re.sub(r"#.*", "", text)))
    return any(t.type == tokenize.NAME and t.string == "lambda" for t in tokens)


def workflow_files():
    return [REPO / "Snakefile", *sorted((REPO / "workflow/rules").glob("*.smk"))]


def all_rules():
    return [(path.name, *rule) for path in workflow_files() for rule in rules_of(path.read_text())]


def test_the_parser_finds_every_rule():
    names = {name for _, name, _, _ in all_rules()}
    assert {"all", "train_model", "sample_shard", "sample_reference", "plot_figure", "gpu_probe"} <= names
    assert len(names) >= 15


@pytest.mark.parametrize(
    "text, lines, lam",
    [
        ("rule a:\n    input:\n        x=lambda wc: 1,\n\n\nrule b:\n    output:\n        'y'\n", 3, True),
        ("rule a:\n    params:\n        x='lambda',  # lambda\n    shell:\n        'echo'\n\nX = 1\n", 5, False),
        ("if TOY:\n\n    rule a:\n        input:\n            f,\n\nelse:\n    pass\n", 3, False),
    ],
)
def test_rules_of_and_has_lambda_on_examples(text, lines, lam):
    name, _, body = rules_of(text)[0]
    assert name == "a" and len(body) == lines and has_lambda(body) is lam


def test_every_rule_is_short():
    long = [
        f"{f}:{line} rule {name}: {len(body)} lines"
        for f, name, line, body in all_rules()
        if len(body) > MAX_RULE_LINES
    ]
    assert long == [], f"rules over {MAX_RULE_LINES} lines (move logic into named functions)"


def test_no_rule_has_a_lambda():
    found = [f"{f}:{line} rule {name}" for f, name, line, body in all_rules() if has_lambda(body)]
    assert found == [], "lambdas in rules (use a named function in common.smk)"
