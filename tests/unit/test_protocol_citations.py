"""Every protocol citation in the repository (`[protocol §X.Y]`, `§X.Y`) names a section heading of
docs/protocol.md, so a reader can follow it inside the clone."""

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PROTOCOL = REPO / "docs" / "protocol.md"
HEADING = re.compile(r"^#{2,3} (\d+(?:\.\d+)?)\.? ", re.M)
CITATION = re.compile(r"§ ?(\d+(?:\.\d+)*)")
CITING = [
    *sorted((REPO / "src").rglob("*.py")),
    *sorted((REPO / "workflow").rglob("*.smk")),
    REPO / "Snakefile",
    *sorted((REPO / "config").rglob("*.yaml")),
    REPO / "README.md",
    REPO / "config" / "README.md",
    REPO / "results" / "README.md",
]


def protocol_sections(text: str) -> set[str]:
    return set(HEADING.findall(text))


def unresolved_citations(text: str, sections: set[str]) -> list[str]:
    return [c for c in CITATION.findall(text) if c.rstrip(".") not in sections]


def test_protocol_has_the_shared_section_numbers():
    sections = protocol_sections(PROTOCOL.read_text(encoding="utf-8"))
    expected = {str(i) for i in range(9)} | {
        "1.1",
        "1.2",
        "1.3",
        "1.4",
        "1.5",
        "1.6",
        "2.1",
        "2.2",
        "2.3",
        "2.4",
        "2.5",
        *(f"3.{i}" for i in range(1, 10)),
        "4.1",
        "4.2",
        "4.3",
        *(f"5.{i}" for i in range(1, 7)),
        "6.1",
        "6.2",
        "6.3",
        "8.1",
        "8.2",
        "8.3",
    }
    assert expected <= sections, sorted(expected - sections)


@pytest.mark.parametrize("path", CITING, ids=lambda p: str(p.relative_to(REPO)))
def test_every_citation_resolves(path):
    sections = protocol_sections(PROTOCOL.read_text(encoding="utf-8"))
    assert unresolved_citations(path.read_text(encoding="utf-8"), sections) == []


def test_a_made_up_section_is_caught():
    sections = protocol_sections(PROTOCOL.read_text(encoding="utf-8"))
    text = '"""Made up [protocol §3.5], then [protocol §3.17] and §9.2."""'
    assert unresolved_citations(text, sections) == ["3.17", "9.2"]


def test_src_cites_the_protocol_and_not_the_shared_spec():
    text = "".join(p.read_text(encoding="utf-8") for p in (REPO / "src").rglob("*.py"))
    assert "[protocol §" in text
    others = [p for p in sorted((REPO / "tests").rglob("*.py")) if p != Path(__file__).resolve()]
    for path in [p for p in CITING if p.exists()] + others:
        assert "paper_protocol.md" not in path.read_text(encoding="utf-8"), path
