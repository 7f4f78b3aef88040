"""Links of the documentation: every relative link and image of README.md,
docs/*.md and the addon's readme/*.md resolves to a file of the repository,
and none points outside it (a user only has the repository). No database
needed: plain functions, no Odoo."""

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DOCS = sorted(
    [REPO / "README.md"]
    + list((REPO / "docs").glob("*.md"))
    + list(REPO.glob("*/readme/*.md"))
)
# [text](target) and ![alt](target), an optional "title" after the target
INLINE_LINK = re.compile(
    r"!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)"
)
# [label]: target (reference definitions)
REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s.*)?$", re.M)
HTML_REF = re.compile(r"<(?:img|a)\b[^>]*?\b(?:src|href)=\"([^\"]+)\"", re.I)
SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)


def _prose(text):
    """The text without code blocks and inline code (no links there)."""
    text = re.sub(r"^ *(```|~~~).*?^ *\1[^\n]*$", "", text, flags=re.S | re.M)
    return re.sub(r"(`+).+?\1", "", text, flags=re.S)


def _targets(path):
    text = _prose(path.read_text(encoding="utf-8"))
    for regex in (INLINE_LINK, REFERENCE, HTML_REF):
        yield from regex.findall(text)


def test_docs_exist():
    names = {p.relative_to(REPO).as_posix() for p in DOCS}
    assert "README.md" in names
    assert any(n.startswith("docs/") for n in names)


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.relative_to(REPO).as_posix())
def test_relative_links_resolve_inside_the_repository(doc):
    problems = []
    for target in _targets(doc):
        if SCHEME.match(target) or target.startswith("//"):
            continue  # a web address (http, https, mailto...)
        file_part = target.split("#", 1)[0].split("?", 1)[0]
        if not file_part:
            continue  # an anchor of the same page
        if file_part.startswith("/"):
            problems.append(f"{target}: absolute path")
            continue
        resolved = (doc.parent / file_part).resolve()
        if not resolved.is_relative_to(REPO):
            problems.append(f"{target}: outside the repository")
        elif not resolved.exists():
            problems.append(f"{target}: no such file")
    assert not problems, f"{doc.relative_to(REPO)}: " + "; ".join(problems)


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.relative_to(REPO).as_posix())
def test_no_reference_to_files_outside_the_repository(doc):
    text = doc.read_text(encoding="utf-8")
    assert "../shared" not in text, f"{doc.relative_to(REPO)} names ../shared"
