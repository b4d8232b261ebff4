import shutil

import nbformat
import pytest

from helpers import nav


def _copy_project(tmp_path):
    (tmp_path / "notebooks").mkdir()
    for path in nav.notebooks(nav.ROOT / "notebooks"):
        shutil.copy(path, tmp_path / "notebooks" / path.name)
    shutil.copy(nav.ROOT / "README.md", tmp_path / "README.md")
    return tmp_path


def test_repository_is_current():
    assert nav.sync(check=True) == []


def test_stale_readme_is_found_and_fixed(tmp_path):
    root = _copy_project(tmp_path)
    readme = root / "README.md"
    readme.write_text(readme.read_text().replace("Start here", "Old title"))
    assert nav.sync(root, check=True) == ["README.md"]
    assert nav.sync(root) == ["README.md"]
    assert nav.sync(root, check=True) == []


def test_new_notebook_appears_in_navigation_and_map(tmp_path):
    root = _copy_project(tmp_path)
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# 98 · Second\nWhat comes next?"),
        nbformat.v4.new_markdown_cell("<!-- nav -->\nold"),
    ]
    nbformat.write(nb, root / "notebooks" / "98_second.ipynb")
    stale = nav.sync(root, check=True)
    assert "notebooks/00_start_here.ipynb" in stale and "notebooks/98_second.ipynb" in stale and "README.md" in stale
    nav.sync(root)
    before_it = nav.notebooks(root / "notebooks")[-2]  # the notebook that used to be last
    previous = nbformat.read(before_it, 4)
    assert any(c.source.startswith("<!-- nav -->") and "(98_second.ipynb)" in c.source for c in previous.cells)
    start = nbformat.read(root / "notebooks" / "00_start_here.ipynb", 4)
    sources = [c.source for c in start.cells]
    assert any(s.startswith("<!-- map -->") and "| 98 | [Second](98_second.ipynb) | What comes next? |" in s for s in sources)
    second = nbformat.read(root / "notebooks" / "98_second.ipynb", 4)
    assert f"[← {before_it.name[:2]} · " in second.cells[1].source
    assert "notebooks/98_second.ipynb" in (root / "README.md").read_text()


def test_check_exit_code(tmp_path, monkeypatch, capsys):
    root = _copy_project(tmp_path)
    (root / "README.md").write_text((root / "README.md").read_text().replace("Start here", "X"))
    monkeypatch.setattr(nav, "ROOT", root)
    assert nav.main(["--check"]) == 1
    assert "run `make nav`" in capsys.readouterr().out


def test_bad_title_is_reported(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("Title without a number")]
    nbformat.write(nb, tmp_path / "05_bad.ipynb")
    with pytest.raises(ValueError, match=r"must read '# NN · Title'"):
        nav.read_entry(tmp_path / "05_bad.ipynb")


def test_readme_lists_every_public_name():
    import helpers

    readme = (nav.ROOT / "README.md").read_text(encoding="utf-8")
    missing = [name for name in helpers.__all__ if f"`{name}" not in readme]
    assert missing == [], f"README.md does not list: {missing}"
