"""The Chinese edition is generated from the English notebooks and the catalogs, and cannot drift from them.

Each rule of ``python -m helpers.translate --check`` is shown to fail on a small made-up tree (tmp) and on a
copy of the real one; the last test holds the repository itself to every rule.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from helpers import execute, nav, translate

GLOSSARY = nav.ROOT / "notebooks" / "zh" / "catalog" / "glossary.json"


def _md(cell_id: str, text: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_markdown_cell(text)
    cell.id = cell_id
    cell.metadata = {"slideshow": {"slide_type": "slide"}}
    return cell


def _code(cell_id: str, text: str, output: str = "", tags: list[str] | None = None) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(text)
    cell.id = cell_id
    cell.metadata = {"slideshow": {"slide_type": "-"}, **({"tags": tags} if tags else {})}
    if output:
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=output)]
        cell.execution_count = 1
    return cell


ENGLISH = {
    "00_start_here": [
        _md("a0title", "# 00 · Start here\nWhat does an optimizer hold?\n\n**You will learn** what a parameter group is.\n\n"
                       "**Time** 90 minutes.\n\n**In class** 80 minutes: sections 1 and 2."),
        _md("a0nav", "<!-- nav -->\nold"),
        _code("a0setup", "from helpers import setup_notebook\n\ndevice = setup_notebook(seed=0)", "cpu\n", ["nbval-ignore-output"]),
        _md("a0sec1", "## 1. A learning rate\n\nThe learning rate is `lr`. It stays 0.1."),
        _code("a0code", "lr = 0.1\nprint(lr)", "0.1\n"),
        _md("a0maph", "## 2. Map of the collection"),
        _md("a0map", "<!-- map -->\nold"),
        _md("a0sol", "See [solutions/00_start_here.py](solutions/00_start_here.py)."),
        _md("a0nav2", "<!-- nav -->\nold"),
    ],
    "01_groups": [
        _md("b1title", "# 01 · Groups\nHow do groups work?\n\n**Time** 5 minutes.\n\n**In class** skipped: a test."),
        _md("b1nav", "<!-- nav -->\nold"),
        _code("b1setup", "device = setup_notebook(seed=0)", "cpu\n"),
        _md("b1text", "A gradient flows into `optimizer.step()`."),
        _md("b1nav2", "<!-- nav -->\nold"),
    ],
}
CHINESE = {
    "00_start_here": {
        "a0title": "# 00 · 从这里开始\n优化器里有什么？\n\n**你将学到** 什么是参数组。\n\n**时间** 90 分钟。\n\n**课堂** 80 分钟：第 1、2 节。",
        "a0sec1": "## 1. 学习率\n\n学习率是 `lr`。它保持 0.1。",
        "a0maph": "## 2. 合集地图",
        "a0sol": "答案见 [solutions/00_start_here.py](solutions/00_start_here.py)。",
    },
    "01_groups": {
        "b1title": "# 01 · 组\n组怎样工作？\n\n**时间** 5 分钟。\n\n**课堂** 不讲：一个测试。",
        "b1text": "梯度流入 `optimizer.step()`。",
    },
}


def _english_text(stem: str, cell_id: str) -> str:
    return next(c.source for c in ENGLISH[stem] if c.id == cell_id)


def _catalog(stem: str) -> dict:
    return {k: {"fingerprint": translate.fingerprint(_english_text(stem, k)), "en": _english_text(stem, k), "zh": v}
            for k, v in CHINESE[stem].items()}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A made-up repository: two English notebooks, their complete catalogs, the glossary, both READMEs."""
    (tmp_path / "notebooks" / "zh" / "catalog").mkdir(parents=True)
    for stem, cells in ENGLISH.items():
        nb = nbformat.v4.new_notebook(cells=copy.deepcopy(cells))
        nb.metadata = {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}}
        nbformat.write(nb, tmp_path / "notebooks" / f"{stem}.ipynb")
        _write_catalog(tmp_path, stem, _catalog(stem))
    shutil.copy(GLOSSARY, tmp_path / "notebooks" / "zh" / "catalog" / "glossary.json")
    markers = f"{nav.README_START}\n{nav.README_END}\n"
    (tmp_path / "README.md").write_text(f"# x\n{markers}\n## For teachers\n\n{nav.TEACHERS_START}\n{nav.TEACHERS_END}\n")
    (tmp_path / "README.zh-CN.md").write_text(f"# 中文\n\n{markers}")
    return tmp_path


def _write_catalog(root: Path, stem: str, catalog: dict) -> None:
    (root / "notebooks" / "zh" / "catalog" / f"{stem}.json").write_text(translate.dump_catalog(catalog), encoding="utf-8")


def _read_catalog(root: Path, stem: str) -> dict:
    return json.loads((root / "notebooks" / "zh" / "catalog" / f"{stem}.json").read_text(encoding="utf-8"))


def _edit(path: Path, cell_id: str, change) -> None:
    nb = nbformat.read(path, as_version=4)
    change(next(c for c in nb.cells if c.id == cell_id))
    nbformat.write(nb, path)


def _zh(root: Path, stem: str) -> nbformat.NotebookNode:
    return nbformat.read(root / "notebooks" / "zh" / f"{stem}.ipynb", as_version=4)


def _cell(nb, cell_id: str):
    return next(c for c in nb.cells if c.id == cell_id)


# --- small pieces ----------------------------------------------------------------------------


def test_fingerprint_is_the_first_16_hex_digits_of_sha256():
    assert translate.fingerprint("## Summary") == "30ac03ff33731529"
    assert translate.fingerprint("## 小结") != translate.fingerprint("## Summary") and len(translate.fingerprint("")) == 16


@pytest.mark.parametrize(
    "english, chinese",
    [
        ("device = setup_notebook(seed=0)", 'device = setup_notebook(seed=0, lang="zh")'),
        ("setup_notebook()", 'setup_notebook(lang="zh")'),
        ('dev = setup_notebook(seed=1, device="cpu")\nx = 1', 'dev = setup_notebook(seed=1, device="cpu", lang="zh")\nx = 1'),
        ("print(1)  # no setup here", "print(1)  # no setup here"),
    ],
)
def test_the_setup_call_gets_the_language_and_nothing_else_changes(english, chinese):
    assert translate.localize_code(english) == chinese


def test_a_setup_call_that_names_a_language_is_refused():
    with pytest.raises(ValueError, match="already names a language"):
        translate.localize_code('setup_notebook(seed=0, lang="en")')


@pytest.mark.parametrize("path", nav.notebooks(nav.ROOT / "notebooks"), ids=lambda p: p.stem)
def test_every_english_setup_call_takes_the_language(path):
    """The forms the English notebooks use are the ones localize_code handles."""
    setup = next(c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code" and "setup_notebook(" in c.source)
    new = translate.localize_code(setup.source)
    assert new != setup.source and new.count('lang="zh"') == 1 and new.replace(', lang="zh"', "").replace('lang="zh"', "") == setup.source


def test_links_into_solutions_and_distributed_go_one_folder_up():
    text = "[a](solutions/01_param_groups.py) [b](distributed) [c](distributed/x.py) [d](02_zero_grad.ipynb) [e](../solutions/x.py)"
    assert translate.relink(text) == (
        "[a](../solutions/01_param_groups.py) [b](../distributed) [c](../distributed/x.py) [d](02_zero_grad.ipynb) [e](../solutions/x.py)"
    )


def test_glossary_terms_are_matched_as_words_outside_code():
    terms = {"optimizer": "优化器", "loss": "损失", "parameter group": "参数组"}
    assert translate.missing_terms("Two parameter groups.", "两个组。", terms) == ["parameter group"]  # plural too
    assert translate.missing_terms("Call `optimizer.step()` on [it](loss.py).", "调用。", terms) == []  # code, link target
    assert translate.missing_terms("The losses and lossy_fn", "都不是", terms) == ["loss"]  # "losses", not lossy_fn
    assert translate.missing_terms("An Optimizer's state", "优化器的状态", terms) == []


# --- the generator ---------------------------------------------------------------------------


def test_the_generator_writes_the_chinese_edition(tree):
    changed, fallbacks = translate.write(tree)
    assert changed == ["notebooks/zh/00_start_here.ipynb", "notebooks/zh/01_groups.ipynb", "README.zh-CN.md"] and fallbacks == []
    english, zh = nbformat.read(tree / "notebooks" / "00_start_here.ipynb", 4), _zh(tree, "00_start_here")
    assert [c.id for c in zh.cells] == [c.id for c in english.cells]
    assert [c.metadata for c in zh.cells] == [c.metadata for c in english.cells]  # tags and slide marks too
    assert zh.metadata == english.metadata
    assert _cell(zh, "a0sec1").source == CHINESE["00_start_here"]["a0sec1"]
    assert _cell(zh, "a0sol").source == "答案见 [solutions/00_start_here.py](../solutions/00_start_here.py)。"
    assert _cell(zh, "a0setup").source == 'from helpers import setup_notebook\n\ndevice = setup_notebook(seed=0, lang="zh")'
    assert _cell(zh, "a0code").source == "lr = 0.1\nprint(lr)"
    assert all(c.outputs == [] and c.execution_count is None for c in zh.cells if c.cell_type == "code")  # to execute
    # Navigation and map within zh/, with the Chinese titles and labels.
    assert _cell(zh, "a0nav").source == "<!-- nav -->\n[目录](#2.-合集地图) · [01 · 组 →](01_groups.ipynb)"
    assert _cell(zh, "a0map").source == (
        "<!-- map -->\n| # | 笔记本 | 它回答的问题 |\n|---|---|---|\n"
        "| 00 | [从这里开始](00_start_here.ipynb) | 优化器里有什么？ |\n| 01 | [组](01_groups.ipynb) | 组怎样工作？ |"
    )
    assert _cell(_zh(tree, "01_groups"), "b1nav2").source == (
        "<!-- nav -->\n[← 00 · 从这里开始](00_start_here.ipynb) · [目录](00_start_here.ipynb#2.-合集地图)"
    )
    readme = (tree / "README.zh-CN.md").read_text(encoding="utf-8")
    assert "| 01 | [组](notebooks/zh/01_groups.ipynb) | 组怎样工作？ |" in readme
    assert translate.check(tree) == []
    assert nav.sync(tree, check=True) == ["notebooks/00_start_here.ipynb", "notebooks/01_groups.ipynb", "README.md"]  # English only
    assert translate.write(tree) == ([], [])  # a second run changes nothing


def test_outputs_are_kept_for_unchanged_code_and_dropped_for_changed_code(tree):
    translate.write(tree)
    path = tree / "notebooks" / "zh" / "00_start_here.ipynb"
    nb = _zh(tree, "00_start_here")  # as helpers.execute leaves it
    for count, cell in enumerate((c for c in nb.cells if c.cell_type == "code"), 1):
        cell.outputs, cell.execution_count = [nbformat.v4.new_output("stream", name="stdout", text=f"run {count}\n")], count
    nbformat.write(nb, path)
    assert not execute.unexecuted(path)
    _edit(tree / "notebooks" / "00_start_here.ipynb", "a0code", lambda c: setattr(c, "source", "lr = 0.2\nprint(lr)"))
    assert any("code cell a0code differs from the English" in p for p in translate.check(tree))
    translate.write(tree)
    zh = _zh(tree, "00_start_here")
    assert _cell(zh, "a0setup").outputs[0].text == "run 1\n" and _cell(zh, "a0setup").execution_count == 1
    assert _cell(zh, "a0code").outputs == [] and _cell(zh, "a0code").execution_count is None
    assert execute.unexecuted(path) and translate.check(tree) == []


def test_a_cell_without_a_translation_falls_back_to_english_and_is_reported(tree):
    catalog = _read_catalog(tree, "01_groups")
    del catalog["b1text"]
    _write_catalog(tree, "01_groups", catalog)
    changed, fallbacks = translate.write(tree)
    assert fallbacks == ["01_groups.ipynb cell b1text"]
    assert _cell(_zh(tree, "01_groups"), "b1text").source == _english_text("01_groups", "b1text")


def test_a_malformed_chinese_title_stops_the_generator(tree):
    catalog = _read_catalog(tree, "01_groups")
    catalog["b1title"]["zh"] = "01 组\n没有井号"
    _write_catalog(tree, "01_groups", catalog)
    with pytest.raises(ValueError, match=r"01_groups.ipynb: the first line must read '# NN · Title'"):
        translate.write(tree)


# --- every rule of --check fails on a broken tree ------------------------------------------------


def _missing(root):
    catalog = _read_catalog(root, "00_start_here")
    del catalog["a0sec1"]
    _write_catalog(root, "00_start_here", catalog)


def _empty(root):
    catalog = _read_catalog(root, "00_start_here")
    catalog["a0sec1"]["zh"] = ""
    _write_catalog(root, "00_start_here", catalog)


def _orphan(root):
    catalog = _read_catalog(root, "01_groups")
    catalog["gone1234"] = {"fingerprint": translate.fingerprint("x"), "en": "x", "zh": "叉"}
    _write_catalog(root, "01_groups", catalog)


def _orphan_file(root):
    _write_catalog(root, "07_gone", {})


def _glossary(root):
    catalog = _read_catalog(root, "01_groups")
    catalog["b1text"]["zh"] = "坡度流入 `optimizer.step()`。"  # 梯度 is the glossary's word for gradient
    _write_catalog(root, "01_groups", catalog)


def _bad_fingerprint(root):
    catalog = _read_catalog(root, "01_groups")
    catalog["b1text"]["en"] += " (edited by hand)"
    _write_catalog(root, "01_groups", catalog)


def _zh_markdown(root):
    _edit(root / "notebooks" / "zh" / "01_groups.ipynb", "b1text", lambda c: setattr(c, "source", "手改的。"))


def _zh_code(root):
    _edit(root / "notebooks" / "zh" / "01_groups.ipynb", "b1setup", lambda c: setattr(c, "source", 'device = setup_notebook(seed=1, lang="zh")'))


def _zh_tags(root):
    _edit(root / "notebooks" / "zh" / "01_groups.ipynb", "b1setup", lambda c: c.metadata.update(tags=["raises-exception"]))


def _zh_missing(root):
    (root / "notebooks" / "zh" / "01_groups.ipynb").unlink()


def _zh_extra(root):
    shutil.copy(root / "notebooks" / "zh" / "01_groups.ipynb", root / "notebooks" / "zh" / "02_extra.ipynb")


def _in_class(root):
    catalog = _read_catalog(root, "00_start_here")
    catalog["a0title"]["zh"] = catalog["a0title"]["zh"].replace("第 1、2 节", "第 1 节")
    _write_catalog(root, "00_start_here", catalog)
    translate.write(root)


def _malformed_catalog(root):
    (root / "notebooks" / "zh" / "catalog" / "01_groups.json").write_text('{"b1text": {"zh": "只有中文"}}')


RULES = {
    "no translation": (_missing, r"00_start_here.ipynb cell a0sec1 has no translation in notebooks/zh/catalog/00_start_here.json: '## 1. A learning rate'"),
    "empty translation": (_empty, r"00_start_here.ipynb cell a0sec1 has no translation"),
    "orphan entry": (_orphan, r"notebooks/zh/catalog/01_groups.json: orphan entry gone1234 \(no such markdown cell in 01_groups.ipynb\)"),
    "orphan catalog": (_orphan_file, r"notebooks/zh/catalog/07_gone.json: orphan catalog"),
    "glossary": (_glossary, r"01_groups.ipynb cell b1text: .* does not use the glossary's 'gradient' -> '梯度'"),
    "fingerprint of en": (_bad_fingerprint, r"entry b1text's fingerprint is not that of its en text"),
    "zh markdown edited": (_zh_markdown, r"notebooks/zh/01_groups.ipynb differs from what the generator makes \(first at cell b1text\)"),
    "zh code edited": (_zh_code, r"notebooks/zh/01_groups.ipynb: code cell b1setup differs from the English beyond lang=\"zh\""),
    "zh tags edited": (_zh_tags, r"code cell b1setup has tags \['raises-exception'\], the English \[\]"),
    "zh notebook missing": (_zh_missing, r"notebooks/zh/01_groups.ipynb is missing: run `make translations`"),
    "zh notebook without english": (_zh_extra, r"notebooks/zh/02_extra.ipynb: no English notebook"),
    "in class line": (_in_class, r"zh/00_start_here.ipynb: the Chinese line gives taught sections \['1'\], the English \['1', '2'\]"),
    "malformed catalog": (_malformed_catalog, r"01_groups.json: entry 'b1text' must be"),
}


@pytest.mark.parametrize("case", sorted(RULES))
def test_each_rule_fails_naming_the_notebook_and_cell(tree, case):
    translate.write(tree)
    assert translate.check(tree) == []
    break_it, message = RULES[case]
    break_it(tree)
    problems = translate.check(tree)
    assert any(re.search(message, p) for p in problems), problems


def test_a_changed_english_sentence_makes_its_translation_stale_with_the_diff(tree):
    translate.write(tree)
    path = tree / "notebooks" / "00_start_here.ipynb"
    _edit(path, "a0sec1", lambda c: setattr(c, "source", c.source.replace("It stays 0.1.", "It stays 0.2.")))
    (stale,) = [p for p in translate.check(tree) if "stale" in p]
    assert stale.startswith("00_start_here.ipynb cell a0sec1: stale translation in notebooks/zh/catalog/00_start_here.json")
    assert "\n-The learning rate is `lr`. It stays 0.1.\n+The learning rate is `lr`. It stays 0.2." in stale
    assert f"fingerprint to {translate.fingerprint(_english_text('00_start_here', 'a0sec1').replace('0.1.', '0.2.'))}" in stale
    # The fix is a catalog update: zh, en and fingerprint.
    catalog = _read_catalog(tree, "00_start_here")
    new = nbformat.read(path, 4)
    catalog["a0sec1"] = {"fingerprint": translate.fingerprint(_cell(new, "a0sec1").source), "en": _cell(new, "a0sec1").source,
                         "zh": "## 1. 学习率\n\n学习率是 `lr`。它保持 0.2。"}
    _write_catalog(tree, "00_start_here", catalog)
    translate.write(tree)
    assert translate.check(tree) == []


def test_a_sentence_changed_in_a_copy_of_the_real_tree_is_named_with_its_diff(tmp_path):
    """The issue's closing note: change one sentence of an English notebook, the staleness test names that cell."""
    (tmp_path / "notebooks").mkdir()
    for path in nav.notebooks(nav.ROOT / "notebooks"):
        shutil.copy(path, tmp_path / "notebooks" / path.name)
    shutil.copytree(nav.ROOT / "notebooks" / "zh" / "catalog", tmp_path / "notebooks" / "zh" / "catalog")
    english = tmp_path / "notebooks" / "01_param_groups.ipynb"
    nb = nbformat.read(english, 4)
    cell = next(c for c in nb.cells if c.cell_type == "markdown" and c.source.startswith("## 1. "))
    catalog = translate.load_catalog(translate.catalog_path(tmp_path, english))
    if not catalog.get(cell.id, {}).get("zh"):  # while translators work: stand in for their entry
        catalog[cell.id] = {"fingerprint": translate.fingerprint(cell.source), "en": cell.source, "zh": "## 1. 一个组"}
        translate.catalog_path(tmp_path, english).write_text(translate.dump_catalog(catalog), encoding="utf-8")
    assert not [p for p in translate.catalog_problems(tmp_path, english) if "stale" in p]
    lines = cell.source.splitlines()
    last = max(range(len(lines)), key=lambda k: len(lines[k]))  # a sentence of the cell's longest line
    changed = lines[last].replace(".", ", really.", 1) if "." in lines[last] else lines[last] + " Really."
    cell.source = "\n".join(lines[:last] + [changed] + lines[last + 1:])
    nbformat.write(nb, english)
    (stale,) = [p for p in translate.catalog_problems(tmp_path, english) if "stale" in p]
    assert stale.startswith(f"01_param_groups.ipynb cell {cell.id}: stale translation")
    assert f"\n-{lines[last]}\n+{changed}" in stale


# --- todo: the translators' list --------------------------------------------------------------------


def test_todo_adds_empty_entries_in_cell_order_and_never_overwrites(tree):
    catalog = _read_catalog(tree, "00_start_here")
    del catalog["a0sec1"]
    catalog = {"a0sol": catalog["a0sol"], **{k: v for k, v in catalog.items() if k != "a0sol"}}  # out of order
    _write_catalog(tree, "00_start_here", catalog)
    _edit(tree / "notebooks" / "00_start_here.ipynb", "a0maph", lambda c: setattr(c, "source", "## 2. The map"))
    report = translate.todo(tree, "00")
    assert "00_start_here.ipynb cell a0sec1: translate into \"zh\":\n    ## 1. A learning rate" in report
    assert "00_start_here.ipynb cell a0maph: the English changed" in report and "-## 2. Map of the collection\n    +## 2. The map" in report
    assert report.endswith("1 cell(s) to translate, 1 to re-translate")
    after = _read_catalog(tree, "00_start_here")
    assert list(after) == ["a0title", "a0sec1", "a0maph", "a0sol"]
    assert after["a0sec1"] == {"fingerprint": translate.fingerprint(_english_text("00_start_here", "a0sec1")),
                               "en": _english_text("00_start_here", "a0sec1"), "zh": ""}
    assert after["a0maph"] == _catalog("00_start_here")["a0maph"]  # stale: kept as it was, for the translator
    assert {k: after[k] for k in ("a0title", "a0sol")} == {k: _catalog("00_start_here")[k] for k in ("a0title", "a0sol")}
    text = (tree / "notebooks" / "zh" / "catalog" / "00_start_here.json").read_text(encoding="utf-8")
    assert text == json.dumps(after, ensure_ascii=False, indent=1) + "\n" and "参数组" in text  # Chinese unescaped
    assert _read_catalog(tree, "01_groups") == _catalog("01_groups")  # another notebook: untouched


def test_todo_names_an_unknown_notebook(tree):
    with pytest.raises(ValueError, match="no English notebook numbered '42'"):
        translate.todo(tree, "42")


# --- the command line ------------------------------------------------------------------------------


def test_check_exits_1_listing_problems_and_writes_nothing(tree, monkeypatch, capsys):
    monkeypatch.setattr(nav, "ROOT", tree)
    assert translate.main([]) == 0
    assert "wrote: notebooks/zh/00_start_here.ipynb" in capsys.readouterr().out
    assert translate.main(["--check"]) == 0 and "complete and current" in capsys.readouterr().out
    _missing(tree)
    before = {p: p.read_bytes() for p in tree.rglob("*") if p.is_file()}
    assert translate.main(["--check"]) == 1
    out = capsys.readouterr().out
    assert "cell a0sec1 has no translation" in out and "notebooks/zh/00_start_here.ipynb differs" in out and "2 problem(s)" in out
    assert {p: p.read_bytes() for p in tree.rglob("*") if p.is_file()} == before
    assert translate.main([]) == 0 and "1 markdown cell(s) have no translation" in capsys.readouterr().out
    assert translate.main(["todo", "00"]) == 0 and "1 cell(s) to translate" in capsys.readouterr().out


def test_a_broken_catalog_is_one_line_not_a_traceback(tree, monkeypatch, capsys):
    monkeypatch.setattr(nav, "ROOT", tree)
    (tree / "notebooks" / "zh" / "catalog" / "01_groups.json").write_text("{not json")
    assert translate.main([]) == 1
    err = capsys.readouterr().err
    assert err.startswith("helpers.translate: 01_groups.json: not valid JSON") and "Traceback" not in err


# --- execution of the Chinese edition ------------------------------------------------------------


def test_execute_takes_folders_and_runs_english_then_chinese(tree):
    translate.write(tree)
    english = nav.notebooks(tree / "notebooks")
    chinese = nav.notebooks(tree / "notebooks" / "zh")
    assert execute.targets([], tree) == english + chinese
    assert execute.targets([str(tree / "notebooks" / "zh")], tree) == chinese
    assert execute.targets([str(chinese[1])], tree) == [chinese[1]]
    with pytest.raises(ValueError, match="not a notebook"):
        execute.targets([str(tree / "README.md")], tree)
    assert [execute.unexecuted(p) for p in english + chinese] == [False, False, True, True]


# --- the repository ---------------------------------------------------------------------------------


def test_the_glossary_has_terms_and_the_headings_the_structure_rules_use():
    glossary = translate.load_glossary(nav.ROOT)
    assert glossary["terms"]["parameter group"] == "参数组" and glossary["terms"]["learning rate"] == "学习率"
    assert {"Summary", "Exercises", "Solutions", "Pitfalls", "You will learn", "You need", "Time", "In class"} <= set(glossary["headings"])


def test_the_chinese_edition_is_complete_and_current():
    """Fails, listing each problem, until every catalog is complete and `make translations` has run."""
    problems = translate.check()
    assert problems == [], "\n\n".join(problems[:20]) + f"\n\n({len(problems)} problems; python -m helpers.translate todo)"
