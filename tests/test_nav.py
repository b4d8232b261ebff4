import re
import shutil
from html.parser import HTMLParser
from urllib.parse import unquote

import nbformat
import pytest
from markdown_it import MarkdownIt

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
        nbformat.v4.new_markdown_cell("# 98 · Second\nWhat comes next?\n\n**Time** 5 minutes.\n\n**In class** skipped: a test."),
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
    readme = (root / "README.md").read_text()
    assert "notebooks/98_second.ipynb" in readme
    assert "- [98 · Second](notebooks/98_second.ipynb): a test." in readme  # left out of the class, with its reason
    assert "| [98 · Second](notebooks/98_second.ipynb) | 5 | 215 |" in readme  # on the self-study path


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



# --- the teacher's path: Time and In class lines -----------------------------------------


def _edit_first_cell(root, number, old, new):
    """Replace text in the first cell of notebook `number` of the tree at `root` (it must be there once)."""
    path = next((root / "notebooks").glob(f"{number}_*.ipynb"))
    nb = nbformat.read(path, 4)
    assert nb.cells[0].source.count(old) == 1, (path.name, old, nb.cells[0].source)
    nb.cells[0].source = nb.cells[0].source.replace(old, new)
    nbformat.write(nb, path)
    return path


def _in_class_line(root, number):
    path = next((root / "notebooks").glob(f"{number}_*.ipynb"))
    return next(ln for ln in nbformat.read(path, 4).cells[0].source.splitlines() if ln.startswith("**In class**"))


def test_every_notebook_has_a_plan_and_the_class_takes_80_of_its_90_minutes():
    plans = nav.teacher_plans()
    assert [p.entry.path for p in plans] == nav.notebooks(nav.ROOT / "notebooks")
    assert sum(p.minutes for p in plans) == nav.TAUGHT_MINUTES == nav.CLASS_MINUTES - nav.SPARE_MINUTES == 80
    for p in plans:
        assert 0 <= p.minutes <= p.time, p.entry.path.name
        assert bool(p.minutes) == bool(p.taught) != bool(p.reason), p.entry.path.name
    assert all(p.minutes for p in plans if p.entry.number <= "06")  # the six methods of the optimizer are all taught


def test_sums_are_computed_from_the_lines(tmp_path):
    root = _copy_project(tmp_path)
    before = nav.teachers_markdown(root)
    study = sum(p.time for p in nav.teacher_plans(root))
    assert f"**Total: {study} minutes**" in before
    # Self-study: 03 takes 40 minutes instead of 15; the total moves by 25.
    _edit_first_cell(root, "03", "**Time** 15 minutes.", "**Time** 40 minutes.")
    # The class: two minutes move from 01 to 00; the running totals move, the total stays 80.
    _edit_first_cell(root, "00", "**In class** 10 minutes", "**In class** 12 minutes")
    _edit_first_cell(root, "01", "**In class** 12 minutes", "**In class** 10 minutes")
    after = nav.teachers_markdown(root)
    assert f"**Total: {study + 25} minutes**" in after and f"**Total: {study} minutes**" not in after
    assert "| [03 · state_dict](03_state_dict.ipynb) | 40 |" in after
    rows = [ln.split(" | ") for ln in after.splitlines() if re.match(r"^\| \d \| ", ln)]
    assert [(r[0], r[3], r[4]) for r in rows[:2]] == [("| 1", "12", "12"), ("| 2", "10", "22")]
    assert rows[-1][4] == "80" and "**Total: 80 minutes** of notebooks" in after


@pytest.mark.parametrize("minutes, total", [(11, 81), (5, 75), (15, 85)])
def test_a_class_that_is_not_80_minutes_is_refused_with_its_sum(tmp_path, minutes, total):
    root = _copy_project(tmp_path)
    _edit_first_cell(root, "00", "**In class** 10 minutes", f"**In class** {minutes} minutes")
    with pytest.raises(ValueError, match=rf"add up to {total} minutes, not 80"):
        nav.teachers_markdown(root)
    with pytest.raises(ValueError, match=rf"add up to {total} minutes"):
        nav.sync(root, check=True)  # make nav and its --check refuse it too


def test_make_nav_reports_a_wrong_plan_in_one_line_and_writes_nothing(tmp_path, monkeypatch, capsys):
    root = _copy_project(tmp_path)
    _edit_first_cell(root, "00", "**In class** 10 minutes", "**In class** 11 minutes")
    second = root / "notebooks" / "01_param_groups.ipynb"
    nb = nbformat.read(second, 4)
    nb.cells[-1].source = "<!-- nav -->\nstale"  # a stale navigation line that a sync would rewrite
    nbformat.write(nb, second)
    before = {p: p.read_bytes() for p in [root / "README.md", *root.joinpath("notebooks").iterdir()]}
    monkeypatch.setattr(nav, "ROOT", root)
    for argv in (["--check"], []):
        assert nav.main(argv) == 1
        err = capsys.readouterr().err
        assert err.startswith("helpers.nav: the In class lines add up to 81 minutes, not 80") and "Traceback" not in err
    assert {p: p.read_bytes() for p in before} == before  # refused before anything was written


def _skip_04(root):
    """Leave 04 out of the class: 80 - 10 minutes."""
    _edit_first_cell(root, "04", _in_class_line(root, "04"), "**In class** skipped: a test.")


BAD_LINES = {
    "no In class line": ("03", lambda line: "", r"03_state_dict\.ipynb: the line after the Time line must be the teacher's"),
    "In class before Time": ("03", lambda line: "", r"03_state_dict\.ipynb: the line after the Time line"),
    "unknown section": ("04", lambda line: line.replace("sections 1 and 2.", "sections 1, 2 and 9."),
                        r"04_add_param_group\.ipynb: the In class line names section 9, which the notebook does not have"),
    "unknown skipped section": ("04", lambda line: line.replace("Skip 3,", "Skip 3, 4,"),
                                r"04_add_param_group\.ipynb: the In class line names section 4"),
    "longer than Time": ("05", lambda line: line.replace("12 minutes", "16 minutes"),
                         r"05_load_state_dict\.ipynb: 16 minutes in class, but the notebook's Time line gives 15"),
    "section neither taught nor skipped": ("06", lambda line: line.replace("Skip 4, 5, 6,", "Skip 4, 6,"),
                                           r"06_step_and_closure\.ipynb: the In class line neither teaches nor skips section\(s\) 5"),
    "section taught and skipped": ("06", lambda line: line.replace("Skip 4,", "Skip 3, 4,"),
                                   r"06_step_and_closure\.ipynb: the In class line names 3 more than once"),
    "unknown part": ("02", lambda line: line.replace("the pitfalls", "the quiz"),
                     r"02_zero_grad\.ipynb: cannot read 'the quiz'"),
    "malformed": ("02", lambda line: line.replace("12 minutes: sections", "about twelve minutes on sections"),
                  r"02_zero_grad\.ipynb: cannot read the In class line"),
    "no minutes": ("02", lambda line: line.replace("12 minutes", "0 minutes"), r"02_zero_grad\.ipynb: 0 minutes in class"),
    "empty reason": ("09", lambda line: "**In class** skipped:", r"09_distributed_state\.ipynb: cannot read the In class line"),
}


@pytest.mark.parametrize("case", sorted(BAD_LINES))
def test_a_wrong_in_class_line_is_refused_naming_the_notebook(tmp_path, case):
    number, change, message = BAD_LINES[case]
    root = _copy_project(tmp_path)
    line = _in_class_line(root, number)
    if case == "In class before Time":
        path = _edit_first_cell(root, number, f"\n\n{line}", "")
        _edit_first_cell(root, number, "**You need**", f"{line}\n\n**You need**")
    else:
        path = _edit_first_cell(root, number, line, change(line))
    with pytest.raises(ValueError, match=message):
        nav.read_plan(path)
    with pytest.raises(ValueError, match=message):
        nav.teachers_markdown(root)


@pytest.mark.parametrize(
    "time_line, message",
    [("", r"has no '\*\*Time\*\* N minutes\.' line"), ("**Time** a quarter of an hour.", r"must read '\*\*Time\*\* N minutes\.'")],
)
def test_a_missing_or_malformed_time_line_is_refused(tmp_path, time_line, message):
    root = _copy_project(tmp_path)
    path = _edit_first_cell(root, "00", "**Time** 15 minutes.", time_line)
    with pytest.raises(ValueError, match=rf"00_start_here\.ipynb: .*{message}"):
        nav.read_plan(path)


def test_notes_and_named_parts_are_read(tmp_path):
    root = _copy_project(tmp_path)
    _skip_04(root)
    path = _edit_first_cell(root, "02", _in_class_line(root, "02"),
                            "**In class** 22 minutes: sections 1, 2 (briefly), 3, 4 and the pitfalls. Skip 5 and the exercises (homework).")
    plan = nav.read_plan(path)
    assert [(p.key, p.note) for p in plan.taught] == [("1", ""), ("2", "briefly"), ("3", ""), ("4", ""), ("pitfalls", "")]
    assert [(p.key, p.note) for p in plan.skipped] == [("5", ""), ("exercises", "homework")]
    page = nav.teachers_markdown(root)
    assert "[Pitfalls](02_zero_grad.ipynb#Pitfalls) | 22 |" in page
    assert "| section 5 and the exercises (homework) |" in page
    assert "- [04 · add_param_group](04_add_param_group.ipynb): a test." in page


def test_heading_anchor_is_jupyterlabs():
    assert nav.heading_anchor("5. Map of the collection") == "5.-Map-of-the-collection"  # as the Contents link
    assert nav.heading_anchor("2. What `zero_grad()` leaves behind") == "2.-What-zero_grad()-leaves-behind"
    assert nav.heading_anchor("1. A **bold** [link](x.ipynb)") == "1.-A-bold-link"
    assert nav.heading_anchor("6. Rates _per group_ in <code>lr</code>") == "6.-Rates-per-group-in-lr"  # emphasis, HTML
    assert nav.heading_anchor("3. `param_groups` and zero_grad, *again*") == "3.-param_groups-and-zero_grad,-again"


def test_a_note_may_hold_commas_and_and(tmp_path):
    root = _copy_project(tmp_path)
    path = _edit_first_cell(root, "02", _in_class_line(root, "02"), "**In class** 22 minutes: sections 1, 2 (briefly, on the board), "
                            "3 and 4. Skip 5 (read and run it), the pitfalls and the exercises (homework).")
    plan = nav.read_plan(path)
    assert [(p.key, p.note) for p in plan.taught] == [("1", ""), ("2", "briefly, on the board"), ("3", ""), ("4", "")]
    assert [(p.key, p.note) for p in plan.skipped] == [("5", "read and run it"), ("pitfalls", ""), ("exercises", "homework")]


class _Headings(HTMLParser):
    """The text of every h1-h6 of an HTML page, as the DOM's textContent gives it."""

    def __init__(self):
        super().__init__()
        self.texts, self._open = [], None

    def handle_starttag(self, tag, attrs):
        if re.fullmatch(r"h[1-6]", tag):
            self._open = ""

    def handle_endtag(self, tag):
        if re.fullmatch(r"h[1-6]", tag) and self._open is not None:
            self.texts.append(self._open)
            self._open = None

    def handle_data(self, data):
        if self._open is not None:
            self._open += data


def _jupyterlab_ids(path):
    """Heading ids as JupyterLab makes them: each markdown cell rendered, the heading's text with spaces as '-'."""
    md, ids = MarkdownIt("commonmark"), set()
    for cell in nbformat.read(path, 4).cells:
        if cell.cell_type == "markdown":
            parser = _Headings()
            parser.feed(md.render(cell.source))
            ids |= {text.replace(" ", "-") for text in parser.texts}
    return ids


def _links(markdown):
    """Every link target in a markdown text, as a CommonMark parser reads it (parentheses in anchors included)."""
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    inline = [child for t in tokens if t.type == "inline" for child in t.children]
    return [t.attrs["href"] for t in inline if t.type == "link_open"]


@pytest.mark.parametrize("where", ["page", "README"])
def test_every_link_points_to_a_notebook_and_a_heading(where):
    if where == "page":
        text, base = nav.teachers_markdown(), nav.ROOT / "notebooks"  # a page next to the notebooks
    else:
        readme = (nav.ROOT / "README.md").read_text(encoding="utf-8")
        text, base = readme.split(nav.TEACHERS_START)[1].split(nav.TEACHERS_END)[0], nav.ROOT
    links = _links(text)
    plans = nav.teacher_plans()
    assert len(links) == sum(1 + len(p.taught) for p in plans if p.minutes) + len(plans) + sum(not p.minutes for p in plans)
    for link in links:
        file_part, _, anchor = link.partition("#")
        target = base / file_part
        assert target.suffix == ".ipynb" and target.exists(), link
        if anchor:  # the parser percent-encodes some characters ("[" in group['lr']); a browser decodes them
            assert unquote(anchor) in _jupyterlab_ids(target), f"{link}: no heading with that anchor in {target.name}"
    sections = [link for link in links if "#" in link]
    assert len(sections) == sum(len(p.taught) for p in plans)
    assert all(link.startswith("notebooks/") for link in links) == (where == "README")


def test_stale_teachers_section_is_found_and_fixed(tmp_path, monkeypatch, capsys):
    root = _copy_project(tmp_path)
    readme = root / "README.md"
    readme.write_text(readme.read_text().replace("**Total: 80 minutes**", "**Total: 70 minutes**"))
    assert nav.sync(root, check=True) == ["README.md"]
    monkeypatch.setattr(nav, "ROOT", root)
    assert nav.main(["--check"]) == 1
    assert "run `make nav`" in capsys.readouterr().out
    assert nav.sync(root) == ["README.md"]
    assert nav.sync(root, check=True) == []
    # A change in a notebook's In class line reaches the README at the next sync.
    _edit_first_cell(root, "00", "**In class** 10 minutes", "**In class** 12 minutes")
    _edit_first_cell(root, "01", "**In class** 12 minutes", "**In class** 10 minutes")
    assert nav.sync(root, check=True) == ["README.md"]
    nav.sync(root)
    assert "| 1 | [00 · Start here](notebooks/00_start_here.ipynb) |" in readme.read_text()
    assert re.search(r"^\| 1 \| \[00 · Start here\].* \| 12 \| 12 \| ", readme.read_text(), re.M)


def test_readme_without_teachers_markers_is_reported(tmp_path):
    root = _copy_project(tmp_path)
    readme = root / "README.md"
    readme.write_text(readme.read_text().replace(nav.TEACHERS_END, ""))
    with pytest.raises(ValueError, match=r"add the markers <!-- teachers:start --> and <!-- teachers:end -->"):
        nav.sync(root, check=True)


def test_readme_section_sits_under_for_teachers_after_the_table():
    readme = (nav.ROOT / "README.md").read_text(encoding="utf-8")
    assert readme.index(nav.README_END) < readme.index("\n## For teachers\n\n" + nav.TEACHERS_START)
    page = nav.teachers_markdown(prefix="x/")
    assert page.startswith("# For teachers\n") and "](x/00_start_here.ipynb" in page
    section = readme.split(nav.TEACHERS_START)[1].split(nav.TEACHERS_END)[0]
    body = page.removeprefix("# For teachers\n").replace("](x/", "](notebooks/")
    assert section.strip() == re.sub(r"^## ", "### ", body, flags=re.M).strip()  # the same, one heading level down


# --- the Chinese edition: navigation within notebooks/zh, its map and README.zh-CN.md ------------------


def _zh_first_cell(plan, time=None, minutes=None, taught=None, skipped=None):
    """A Chinese title cell whose Time and In class lines give ``plan``'s numbers unless told otherwise."""
    time = plan.time if time is None else time
    minutes = plan.minutes if minutes is None else minutes
    taught = [p.key for p in plan.taught if p.key.isdigit()] if taught is None else taught
    skipped = [p.key for p in plan.skipped if p.key.isdigit()] if skipped is None else skipped
    line = f"**课堂** {minutes} 分钟：第 {'、'.join(taught)} 节。" + (f"跳过第 {'、'.join(skipped)} 节（地图）、陷阱和练习（课后作业）。" if skipped else "跳过陷阱和练习。")
    if not minutes:
        line = "**课堂** 不讲：课后再学。"
    return f"# {plan.entry.number} · 中文标题 {plan.entry.number}\n它回答的问题 {plan.entry.number}？\n\n**你将学到** 甲\n\n**时间** {time} 分钟。\n\n{line}"


def _zh_edition(root, numbers=("00", "01")):
    """notebooks/zh/ with the given notebooks (English copies with a Chinese first cell and map heading) and README.zh-CN.md."""
    (root / "notebooks" / "zh").mkdir()
    for number in numbers:
        english = next((root / "notebooks").glob(f"{number}_*.ipynb"))
        nb = nbformat.read(english, 4)
        nb.cells[0].source = _zh_first_cell(nav.read_plan(english))
        for k, cell in enumerate(nb.cells):
            if cell.source.startswith(nav.MAP_MARK):
                nb.cells[k - 1].source = "## 5. 合集地图"
        nbformat.write(nb, root / "notebooks" / "zh" / english.name)
    (root / "README.zh-CN.md").write_text(f"# 中文\n\n{nav.README_START}\n{nav.README_END}\n", encoding="utf-8")
    return root / "notebooks" / "zh"


def test_the_chinese_edition_gets_its_own_navigation_map_and_readme_table(tmp_path):
    root = _copy_project(tmp_path)
    zh = _zh_edition(root)
    english_before = {p: p.read_bytes() for p in (root / "notebooks").glob("*.ipynb")}
    assert nav.sync(root, check=True) == ["notebooks/zh/00_start_here.ipynb", "notebooks/zh/01_param_groups.ipynb", "README.zh-CN.md"]
    nav.sync(root)
    assert nav.sync(root, check=True) == []
    assert {p: p.read_bytes() for p in english_before} == english_before  # the English edition is left as it was
    first, second = nbformat.read(zh / "00_start_here.ipynb", 4), nbformat.read(zh / "01_param_groups.ipynb", 4)
    navs = [c.source for c in second.cells if c.source.startswith(nav.NAV_MARK)]
    assert navs and set(navs) == {"<!-- nav -->\n[← 00 · 中文标题 00](00_start_here.ipynb) · [目录](00_start_here.ipynb#5.-合集地图)"}
    (table,) = [c.source for c in first.cells if c.source.startswith(nav.MAP_MARK)]
    assert table == ("<!-- map -->\n| # | 笔记本 | 它回答的问题 |\n|---|---|---|\n| 00 | [中文标题 00](00_start_here.ipynb) | 它回答的问题 00？ |\n"
                     "| 01 | [中文标题 01](01_param_groups.ipynb) | 它回答的问题 01？ |")
    readme = (root / "README.zh-CN.md").read_text(encoding="utf-8")
    assert "| 01 | [中文标题 01](notebooks/zh/01_param_groups.ipynb) | 它回答的问题 01？ |" in readme


def test_an_edition_without_its_readme_is_reported(tmp_path):
    root = _copy_project(tmp_path)
    _zh_edition(root)
    (root / "README.zh-CN.md").unlink()
    with pytest.raises(ValueError, match=r"README.zh-CN.md is missing: write it with the markers"):
        nav.sync(root, check=True)


def test_each_chinese_in_class_line_gives_the_english_minutes_and_sections():
    """Holds once notebooks/zh exists (python -m helpers.translate); the cases below show it can fail."""
    assert nav.edition_plan_problems() == []
    for path in nav.notebooks(nav.ROOT / "notebooks" / "zh"):
        time, minutes, taught, skipped = nav.zh_plan(path)
        plan = nav.read_plan(nav.ROOT / "notebooks" / path.name)
        assert (time, minutes, sorted(taught)) == (plan.time, plan.minutes, sorted(p.key for p in plan.taught if p.key.isdigit()))


ZH_PLAN_CASES = {
    "other minutes": (dict(minutes=11), r"zh/01_param_groups.ipynb: the Chinese line gives class minutes 11, the English 12"),
    "other time": (dict(time=25), r"gives Time minutes 25, the English 20"),
    "a taught section missing": (dict(taught=["1", "2", "4"]), r"gives taught sections \['1', '2', '4'\], the English \['1', '2', '4', '6'\]"),
    "a skipped section more": (dict(skipped=["3", "5", "7", "8"]), r"gives skipped sections \['3', '5', '7', '8'\]"),
    "skipped in Chinese only": (dict(minutes=0), r"gives class minutes 0, the English 12"),
}


@pytest.mark.parametrize("case", sorted(ZH_PLAN_CASES))
def test_a_chinese_in_class_line_with_other_numbers_is_reported(tmp_path, case):
    root = _copy_project(tmp_path)
    zh = _zh_edition(root, ("01",))
    assert nav.edition_plan_problems(root) == []
    change, message = ZH_PLAN_CASES[case]
    nb = nbformat.read(zh / "01_param_groups.ipynb", 4)
    nb.cells[0].source = _zh_first_cell(nav.read_plan(root / "notebooks" / "01_param_groups.ipynb"), **change)
    nbformat.write(nb, zh / "01_param_groups.ipynb")
    problems = nav.edition_plan_problems(root)
    assert any(re.search(message, p) for p in problems), problems


def test_an_unreadable_chinese_in_class_line_is_reported(tmp_path):
    root = _copy_project(tmp_path)
    zh = _zh_edition(root, ("01",))
    nb = nbformat.read(zh / "01_param_groups.ipynb", 4)
    nb.cells[0].source = nb.cells[0].source.replace("**课堂** 12 分钟：", "**课堂** 大约十二分钟讲")
    nbformat.write(nb, zh / "01_param_groups.ipynb")
    assert nav.edition_plan_problems(root) == [
        "zh/01_param_groups.ipynb: cannot read the line '**课堂** 大约十二分钟讲第 1、2、4、6 节。跳过第 3、5、7 节（地图）、陷阱和练习（课后作业）。': "
        "write '**课堂** N 分钟：第 1、2、4 节。跳过第 3 节、陷阱和练习（课后作业）。' or '**课堂** 不讲：原因。'"
    ]


def test_notes_in_brackets_do_not_count_as_sections():
    assert nav._section_numbers("第 3、5（见笔记本 05 的第 2 节）、7 节、陷阱和练习（课后作业）") == ["3", "5", "7"]


def test_the_chinese_readme_has_the_commands_and_the_table_markers():
    text = (nav.ROOT / nav.EDITION_READMES["zh"]).read_text(encoding="utf-8")
    for needed in ("make lab", "make test", "make translations", "python -m helpers.translate --check", nav.README_START, nav.README_END):
        assert needed in text, needed
    rows = text.split(nav.README_START)[1].split(nav.README_END)[0].strip().splitlines()
    assert rows[0] == nav.LABELS["zh"].header
    assert [r.split(" | ")[0] for r in rows[2:]] == [f"| {p.name[:2]}" for p in nav.notebooks(nav.ROOT / "notebooks")]
