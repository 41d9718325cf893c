"""The documentation agrees with the code: generated tables are current, relative links resolve,
the README stays short and states every exit status, and the Quick start test command is the one CI
runs (``.ci/run``)."""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FIX = "run `python tools/gen_docs.py` to regenerate them"


def _gen_docs():
    spec = importlib.util.spec_from_file_location("gen_docs", ROOT / "tools" / "gen_docs.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


@pytest.fixture(scope="module")
def gen():
    return _gen_docs()


def _stale_message(bad, root) -> str:
    import difflib

    parts = []
    for f, old, new in bad:
        diff = difflib.unified_diff(old.splitlines(), new.splitlines(), str(f.relative_to(root)), "generated",
                                    lineterm="", n=1)
        parts.append("\n".join(list(diff)[:40]))
    return f"generated docs tables differ from the code; {FIX}\n" + "\n".join(parts)


def test_generated_blocks_match_the_code(gen):
    bad = gen.stale(skip=gen.SLOW_BLOCKS)
    assert not bad, _stale_message(bad, gen.ROOT)


@pytest.mark.slow
def test_slow_generated_blocks_match_the_code(gen):
    """The two exact-binomial power tables (seconds of computation)."""
    bad = gen.stale(only=gen.SLOW_BLOCKS)
    assert not bad, _stale_message(bad, gen.ROOT)


def test_every_generated_block_is_used_and_known(gen):
    used = gen.used_blocks()
    assert set(used) <= set(gen.BLOCKS)
    assert set(gen.BLOCKS) <= set(used), f"blocks no page shows: {sorted(set(gen.BLOCKS) - set(used))}"
    for f in gen.doc_files():
        gen.render(f.read_text(), {}, frozenset(gen.BLOCKS))  # balanced markers, known names


def test_a_stale_block_is_found_and_rewritten(gen, tmp_path):
    page = tmp_path / "page.md"
    page.write_text("x\n<!-- BEGIN GENERATED: budgets -->\nhand-edited\n<!-- END GENERATED: budgets -->\ny\n")
    [(f, _old, new)] = gen.stale([page])
    assert f == page and "hand-edited" not in new and "| `standard` |" in new and new.endswith("y\n")
    page.write_text(new)
    assert gen.stale([page]) == []


# ------------------------------------------------------------------------------------ links ----

def _strip_code(text: str) -> str:
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", text)


def _anchors(path: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, -1, -2 for repeats."""
    seen: dict[str, int] = {}
    out = set()
    text = re.sub(r"^```.*?^```", "", path.read_text(), flags=re.S | re.M)
    for m in re.finditer(r"^#{1,6}\s+(.+?)\s*#*$", text, re.M):
        slug = re.sub(r"[^\w\- ]", "", m[1].strip().lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def _links(path: Path) -> list[str]:
    return re.findall(r"\]\(([^)\s]+)\)", _strip_code(path.read_text()))


@pytest.mark.parametrize("page", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page):
    broken = []
    for link in _links(page):
        if re.match(r"[a-z][a-z0-9+.-]*:", link):  # http:, https:, mailto:
            continue
        target, _, anchor = link.partition("#")
        dest = (page.parent / target).resolve() if target else page
        if not dest.exists():
            broken.append(f"{link}: no file {dest.relative_to(ROOT) if dest.is_relative_to(ROOT) else dest}")
        elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
            broken.append(f"{link}: no heading #{anchor} in {dest.relative_to(ROOT)}")
    assert not broken, f"broken links in {page.relative_to(ROOT)}:\n" + "\n".join(broken)


def test_anchor_slugs_follow_github():
    page = ROOT / "docs" / "other-languages.md"
    assert "samplers-in-any-language---command-and-offline---samples" in _anchors(page)


# ------------------------------------------------------------------------------------ README ---

README = (ROOT / "README.md").read_text()


def test_readme_is_short():
    n = len(README.splitlines())
    assert n <= 300, f"README.md has {n} lines (at most 300: the reference belongs in docs/)"


def test_readme_links_every_docs_page():
    linked = {Path(link.partition("#")[0]).name for link in _links(ROOT / "README.md") if link.startswith("docs/")}
    pages = {p.name for p in (ROOT / "docs").glob("*.md")} - {"spec.md", "seed.md", "bugs.md"}
    assert pages <= linked, f"docs pages the README does not link: {sorted(pages - linked)}"


def test_readme_states_every_exit_status(gen):
    statuses = {int(m) for m in re.findall(r"^\s+(\d+)\s{2}", gen.CHECK_EPILOG, re.M)}
    statuses |= {int(m) for m in re.findall(r"(?:^|[:,] )(\d+) (?:every|at least|one|usage)", gen.CHECK_EPILOG, re.M)}
    assert {0, 1, 2, 3} <= statuses
    table = {int(m) for m in re.findall(r"^\| (\d+) \|", README, re.M)}
    assert statuses | {130} <= table, f"README's exit-status table lacks {sorted(statuses | {130} - table)}"


def test_quick_start_test_command_is_what_ci_runs():
    ci = [ln for ln in (ROOT / ".ci" / "run").read_text().splitlines() if ln.startswith("python3 -m venv")]
    assert len(ci) == 1 and f"```bash\n{ci[0]}\n```" in README
    assert ("```bash\npython3 -m venv .venv && .venv/bin/pip install -c constraints.txt -e . && "
            ".venv/bin/gumbel-harness report\n```") in README
