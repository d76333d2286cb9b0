"""The README's package example runs as printed: its imports exist and its comment is its output."""

import contextlib
import io
import re

from helpers import REPO


def test_readme_example_runs_and_prints_its_comment():
    readme = (REPO / "README.md").read_text()
    block = re.search(r"```python\n(.*?)```", readme, flags=re.S).group(1)
    expected = re.search(r"print\(.*\)\s+#\s*(.+)", block).group(1).split()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(block, "README.md", "exec"), {})
    assert out.getvalue().split() == expected
