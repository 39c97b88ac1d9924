"""Every ```python block of README.md and docs/*.md runs.

The blocks of one file run in order in one fresh namespace (a later block may use
what an earlier one defined), in a temporary working directory. A failing block is
reported with its file and the line where it starts; tracebacks point at the
Markdown line, because the block is compiled at its own position in the file.
"""

from __future__ import annotations

import re
import traceback
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
#: pages whose examples need an optional extra: skipped where it is not installed
#: (``pip install ".[test]"`` without ``.[rl]``); the README's test command
#: installs ``.[all]``, so CI runs them all
NEEDS = {"docs/rl.md": "gymnasium"}
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>```+|~~~+)\s*(?P<info>[^\n`]*)$")


def doc_files() -> list[Path]:
    """README.md and docs/*.md that exist, in a fixed order."""
    files = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    return [p for p in files if p.is_file()]


def python_blocks(text: str) -> list[tuple[int, str]]:
    """``(first code line number, code)`` of every ```python fenced block."""
    blocks, lines = [], text.splitlines()
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, info = m["fence"], m["info"].strip().split()
        start, body = i + 1, []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append(lines[i])
            i += 1
        i += 1  # the closing fence
        if info and info[0].lower() in ("python", "py", "python3"):
            indent = len(m["indent"])
            blocks.append((start + 1, "\n".join(line[indent:] for line in body)))
    return blocks


def test_parser_finds_blocks_and_their_lines():
    text = "intro\n```python\nx = 1\n```\n\n```bash\nls\n```\n  ```python\n  y = 2\n  ```\n"
    assert python_blocks(text) == [(3, "x = 1"), (10, "y = 2")]


def test_the_user_docs_have_runnable_examples():
    counts = {p.name: len(python_blocks(p.read_text())) for p in doc_files()}
    assert counts.get("quickstart.md", 0) >= 5, counts
    assert counts.get("index.md", 0) >= 1, counts


@pytest.mark.slow  # a page's blocks together may take a few seconds
@pytest.mark.parametrize(
    "path", doc_files(), ids=lambda p: p.relative_to(REPO).as_posix()
)
def test_markdown_python_blocks_run(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rel = path.relative_to(REPO).as_posix()
    if rel in NEEDS:
        pytest.importorskip(NEEDS[rel], reason=f"{rel}'s examples need {NEEDS[rel]}")
    namespace = {"__name__": "__main__"}
    for line, code in python_blocks(path.read_text()):
        failure = None
        try:
            compiled = compile("\n" * (line - 1) + code, str(path), "exec")
            exec(compiled, namespace)
        except Exception:
            failure = traceback.format_exc(limit=-3)
        if failure is not None:
            pytest.fail(
                f"{rel}: the python block starting at line {line} failed:\n{failure}",
                pytrace=False,
            )
