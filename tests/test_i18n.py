"""The helpers' language setting: tr's matching, the catalogs, the Chinese output, paths from notebooks/zh."""

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import helpers.i18n as i18n
from helpers import check_sgd_prediction, lr_groups_playground, playground_run, run_solutions, setup_notebook, show_script
from helpers._paths import find_path
from helpers.i18n import __main__ as cli
from helpers.i18n import get_language, set_language, tr
from helpers.i18n._extract import CATALOGS, extract, templates_in, todo
from helpers.schedules import schedule_lrs, schedule_summary

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _english_after(monkeypatch):
    """Every test starts and ends in English, with the shipped catalogs and strict mode off."""
    monkeypatch.delenv(i18n.STRICT_ENV, raising=False)
    set_language("en")
    yield
    set_language("en")
    i18n.load_catalog.cache_clear()


@pytest.fixture
def catalog(tmp_path, monkeypatch):
    """Write ``entries`` as the only zh catalog, switch to Chinese; returns the writer."""

    def write(entries: dict[str, str]) -> None:
        (tmp_path / "zh").mkdir(exist_ok=True)
        (tmp_path / "zh" / "test.json").write_text(json.dumps(entries, ensure_ascii=False), encoding="utf-8")
        monkeypatch.setattr(i18n, "CATALOG_DIR", tmp_path)
        i18n.load_catalog.cache_clear()
        set_language("zh")

    return write


# --- tr ------------------------------------------------------------------------------------


def test_english_is_the_default_and_tr_changes_nothing(monkeypatch):
    monkeypatch.setenv(i18n.STRICT_ENV, "1")
    assert get_language() == "en"
    assert tr("no catalog has this, and English needs none") == "no catalog has this, and English needs none"


def test_importing_helpers_sets_no_language():
    code = "import helpers, helpers.i18n as i; print(i.get_language(), i.load_catalog.cache_info().currsize)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert out.split() == ["en", "0"]


def test_exact_entry(catalog):
    catalog({"Correct!": "正确！"})
    assert tr("Correct!") == "正确！"


def test_placeholders_are_captured_and_may_be_reordered(catalog):
    catalog({"{0} diverged after {1} steps": "{1} 步后 {0} 发散"})
    assert tr("SGD diverged after 12 steps") == "12 步后 SGD 发散"


def test_captured_parts_are_translated_too(catalog):
    catalog({"give {0}, got {1}": "应给出{0}，收到的却是 {1}", "a tensor of shape {0}": "形状为 {0} 的张量", "one number": "一个数"})
    assert tr("give one number, got a tensor of shape (2, 3)") == "应给出一个数，收到的却是 形状为 (2, 3) 的张量"
    assert tr("give one number, got list [1, 2]") == "应给出一个数，收到的却是 list [1, 2]"  # no entry: kept


def test_the_template_with_most_literal_characters_wins(catalog):
    catalog({"at step {0}": "第 {0} 步", "at step {0} the weights did not move": "第 {0} 步权重没有动"})
    assert tr("at step 3 the weights did not move") == "第 3 步权重没有动"
    assert tr("at step 3") == "第 3 步"


def test_the_whole_text_must_match(catalog, monkeypatch):
    catalog({"at step {0}": "第 {0} 步"})
    assert tr("so at step 3") == "so at step 3"
    monkeypatch.setenv(i18n.STRICT_ENV, "1")
    with pytest.raises(LookupError, match=re.escape("'so at step 3'")):
        tr("so at step 3")


def test_strict_mode_raises_only_for_the_whole_text(catalog, monkeypatch):
    catalog({"you said {0}": "你说的是 {0}"})
    monkeypatch.setenv(i18n.STRICT_ENV, "1")
    assert tr("you said 2.5") == "你说的是 2.5"  # the captured "2.5" has no entry: a number stays as it is


def test_a_part_may_be_empty_and_braces_in_the_text_are_literal(catalog):
    catalog({"your code raised {0}: {1}": "你的代码抛出了 {0}: {1}", "copy {k: v} first": "先复制 {k: v}"})
    assert tr("your code raised ValueError: ") == "你的代码抛出了 ValueError: "
    assert tr("copy {k: v} first") == "先复制 {k: v}"


def test_entries_without_a_translation_fall_back_to_english(catalog):
    catalog({"Correct!": ""})
    assert tr("Correct!") == "Correct!"


def test_parts_joined_by_semicolons_and_sentences_are_translated_one_by_one(catalog, monkeypatch):
    catalog(
        {
            "load the model": "载入模型",
            "load the rng (the file's entry); seeding is not restoring": "载入随机数状态（文件里的条目）；重新设种子不等于恢复",
            "step {0} (the first that differs)": "第 {0} 步（第一个不同的）",
            "there is no warm-up": "没有预热",
        }
    )
    monkeypatch.setenv(i18n.STRICT_ENV, "1")
    assert tr("load the model; load the rng (the file's entry); seeding is not restoring") == (
        "载入模型；载入随机数状态（文件里的条目）；重新设种子不等于恢复"  # a part may hold "; " itself
    )
    assert tr("step 3 (the first that differs). There is no warm-up.") == "第 3 步（第一个不同的）。没有预热。"
    assert tr("step 3 (the first that differs).") == "第 3 步（第一个不同的）。"
    with pytest.raises(LookupError):
        tr("load the model; load the scheduler")  # every part must have an entry
    with pytest.raises(LookupError):
        tr("step 3 (the first that differs). Something else.")


def test_a_text_ending_in_a_full_stop_that_matches_nothing_comes_back_unchanged(catalog, monkeypatch):
    catalog({"at step {0}": "第 {0} 步", "there is no warm-up": "没有预热"})
    assert tr("x.") == "x."  # once looped: the sentence "x" tried as "x." tried as the sentence "x" ...
    assert tr("at step x.") == "第 x. 步"  # a captured part ending in "." that matches nothing
    assert tr("Nothing here. Nor here.") == "Nothing here. Nor here."
    monkeypatch.setenv(i18n.STRICT_ENV, "1")
    with pytest.raises(LookupError, match=re.escape("'x.'")):
        tr("x.")


def test_the_shipped_catalogs_return_an_unknown_sentence_unchanged():
    set_language("zh")
    assert tr("x.") == "x." and tr("Not in any catalog. Nor this.") == "Not in any catalog. Nor this."


_CALLS = {
    "at call {0} {1}": "第 {0} 次调用时，{1}",  # nb02: "at call 1 <a message of its mistake table>"
    "at call {0}: {1}": "第 {0} 次调用时：{1}",  # nb10: "at call 1: <the message of another checker>"
    "your gradient is {0} times the big batch's: the micro-batch losses were not divided": "你的梯度是大批次梯度的 {0} 倍：微批次的损失没有被除",
    "the scaler skipped no step": "缩放器一步也没有跳过",
}


def test_the_template_that_explains_most_of_the_text_wins_not_the_longest_alone(catalog):
    """Score = the template's literal characters + the scores of the captured parts that translate."""
    catalog(_CALLS)
    assert tr("at call 1 your gradient is 4 times the big batch's: the micro-batch losses were not divided") == (
        "第 1 次调用时，你的梯度是大批次梯度的 4 倍：微批次的损失没有被除"  # not "第 1 your gradient ... 次调用时：…"
    )
    assert tr("at call 2: the scaler skipped no step") == "第 2 次调用时：缩放器一步也没有跳过"
    assert tr("at call 2: something else") == "第 2 次调用时：something else"  # no part translates: more literal wins


def test_the_shipped_catalogs_choose_nb02s_template_for_nb02s_message():
    set_language("zh")
    text = tr("at call 1 your gradient is 4 times the big batch's: the micro-batch losses were not divided")
    assert text.startswith("第 1 次调用时，") and "your" not in text, text
    assert tr("at call 3: at step 1 the weights did not move").startswith("第 3 次调用时：")


def test_a_captured_identifier_or_code_is_kept_and_a_label_alone_is_translated(catalog):
    catalog(
        {
            "{0} is None, which is not a number": "{0} 是 None，不是一个数",
            "the {0} you returned is None": "你返回的 {0} 是 None",
            "momentum": "动量",
            "optimizer": "优化器",
            "warm-up": "预热",
            "one number": "一个数",
            "give {0}, got {1}": "应给出{0}，收到的却是 {1}",
        }
    )
    assert tr("momentum is None, which is not a number") == "momentum 是 None，不是一个数"  # like weight_decay
    assert tr("weight_decay is None, which is not a number") == "weight_decay 是 None，不是一个数"
    assert tr("the optimizer you returned is None") == "你返回的 optimizer 是 None"
    assert tr("the warm-up you returned is None") == "你返回的 warm-up 是 None"
    assert tr("give one number, got optimizer.param_groups[0]['lr']") == "应给出一个数，收到的却是 optimizer.param_groups[0]['lr']"
    assert [tr("momentum"), tr("optimizer"), tr("warm-up")] == ["动量", "优化器", "预热"]  # widget labels, shown alone


def test_the_shipped_catalogs_keep_captured_names():
    set_language("zh")
    assert tr("momentum is None, which is not a number").startswith("momentum ")
    assert [tr(w) for w in ("lr", "momentum", "optimizer", "surface", "schedule", "warm-up")] == ["学习率", "动量", "优化器", "曲面", "调度", "预热"]


def test_a_template_of_placeholders_only_is_refused(tmp_path, monkeypatch):
    (tmp_path / "zh").mkdir()
    (tmp_path / "zh" / "loop.json").write_text(json.dumps({"{0}{1}": "{1}{0}"}), encoding="utf-8")
    monkeypatch.setattr(i18n, "CATALOG_DIR", tmp_path)
    i18n.load_catalog.cache_clear()
    with pytest.raises(ValueError, match=r"loop.json.*'\{0\}\{1\}'.*no literal text"):
        set_language("zh")


@pytest.mark.parametrize("lang", ["fr", "ZH", "", 1, None])
def test_set_language_refuses_other_languages(lang):
    with pytest.raises(ValueError, match="lang must be one of 'en', 'zh'"):
        set_language(lang)
    assert get_language() == "en"


def test_a_broken_catalog_fails_at_set_language(tmp_path, monkeypatch):
    (tmp_path / "zh").mkdir()
    (tmp_path / "zh" / "bad.json").write_text('["not", "an object"]', encoding="utf-8")
    monkeypatch.setattr(i18n, "CATALOG_DIR", tmp_path)
    i18n.load_catalog.cache_clear()
    with pytest.raises(ValueError, match="bad.json"):
        set_language("zh")
    assert get_language() == "en"


# --- what the helpers print in Chinese -----------------------------------------------------


def test_setup_notebook_reports_in_chinese(capsys):
    setup_notebook(seed=0, device="cpu", lang="zh")
    out = capsys.readouterr().out
    assert out.endswith("| 设备: cpu | CPU 线程: 1 | 随机种子: 0\n"), out
    assert out.startswith("Python ") and get_language() == "zh"
    setup_notebook(seed=0, device="cpu")
    assert capsys.readouterr().out.endswith("| device: cpu | CPU threads: 1 | seed: 0\n")
    assert get_language() == "en"


def test_setup_notebook_refuses_an_unknown_language_before_doing_anything(capsys):
    with pytest.raises(ValueError, match="lang must be one of 'en', 'zh', got 'de'"):
        setup_notebook(seed=0, device="cpu", lang="de")
    assert capsys.readouterr().out == "" and get_language() == "en"


def test_a_wrong_answer_is_shown_in_chinese(capsys, monkeypatch):
    set_language("zh")
    assert not check_sgd_prediction(2.0)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("还不对。") and lines[1].startswith("提示：") and lines[2].startswith("（卡住了？"), lines
    assert not check_sgd_prediction(2.0, reveal=True)
    assert "预期答案：" in capsys.readouterr().out
    assert check_sgd_prediction(2.6)
    assert capsys.readouterr().out.startswith("正确！")


def test_english_output_is_unchanged(capsys):
    assert not check_sgd_prediction(2.0)
    out = capsys.readouterr().out
    assert out.startswith("Not yet. you said 2: the step does move w\nHint: w.grad is not zero"), out


def test_widget_labels_and_summaries_in_chinese():
    set_language("zh")
    box = lr_groups_playground(steps=3)
    assert [c.description for c in box._controls] == ["学习率 body", "学习率 head"]
    text = box.static_text()
    assert text.startswith("交互式控件（运行笔记本即可使用）。 学习率 body: 0.0100") and "3 步后损失" in text, text
    assert playground_run("bowl", "SGD", 0.1, 0.0, 5)["summary"].startswith("SGD lr=0.1 momentum=0：5 步后位于")
    assert schedule_summary(schedule_lrs("cosine", [0.01, 0.1], 10)).startswith("学习率峰值：body 0.01（第 1 步）")


# --- paths from notebooks/zh ---------------------------------------------------------------


@pytest.fixture
def edition(tmp_path, monkeypatch):
    """A notebooks/ folder with solutions/ and distributed/ and an empty zh/ edition; cwd is zh/."""
    notebooks = tmp_path / "notebooks"
    (notebooks / "solutions").mkdir(parents=True)
    (notebooks / "distributed").mkdir()
    (notebooks / "zh").mkdir()
    (notebooks / "solutions" / "00_x.py").write_text("from helpers import check_sgd_prediction\ncheck_sgd_prediction(2.6)\n")
    (notebooks / "distributed" / "job.py").write_text("# --- part: one ---\nx = 1\n")
    monkeypatch.chdir(notebooks / "zh")
    return notebooks


def test_find_path_looks_one_folder_up_from_an_edition_folder(edition):
    assert find_path("solutions/00_x.py") == Path("../solutions/00_x.py")
    assert find_path("solutions/00_x.py", cwd=edition) == Path("solutions/00_x.py")  # found where it is
    assert find_path("solutions/missing.py") == Path("solutions/missing.py")  # not found: as given
    absolute = edition / "solutions" / "00_x.py"
    assert find_path(absolute) == absolute


def test_find_path_only_from_edition_folders(edition):
    other = edition / "fr"
    other.mkdir()
    assert find_path("solutions/00_x.py", cwd=other) == Path("solutions/00_x.py")


def test_run_solutions_from_the_chinese_folder_prints_the_path_as_written(edition, capsys):
    run_solutions("solutions/00_x.py")
    assert capsys.readouterr().out == "Every worked solution in solutions/00_x.py passes its checker (check_sgd_prediction).\n"
    set_language("zh")
    run_solutions("solutions/00_x.py")
    assert capsys.readouterr().out == "solutions/00_x.py 中的每个参考答案都通过了各自的检查器（check_sgd_prediction）。\n"
    with pytest.raises(FileNotFoundError, match="no solutions file 'solutions/none.py'"):
        run_solutions("solutions/none.py")


def test_show_script_from_the_chinese_folder(edition):
    assert show_script("distributed/job.py", part="one").code == "x = 1"


@pytest.mark.skipif(os.name == "nt", reason="run_distributed needs Linux or macOS")
def test_run_distributed_from_the_chinese_folder(edition):
    from helpers import run_distributed

    (edition / "distributed" / "job.py").write_text("from helpers import report\nreport(7)\n")
    assert run_distributed("distributed/job.py", 1, timeout=120) == [7]


# --- the extractor and the catalogs ----------------------------------------------------------


def _templates(source: str, broad: bool = True) -> set[str]:
    return {t for t, _ in templates_in(textwrap.dedent(source), broad=broad)}


def test_extract_numbers_fstring_parts_and_joins_concatenations():
    found = _templates(
        '''
        """Module docstring: not a message."""
        NOTE = "a module constant used as a message"

        def check(step, value):
            """Docstring: not a message either."""
            if value is None:
                raise ValueError(f"value must be given, got {value!r}")  # not shown to learners
            if step > 1:
                return wrong(f"at step {step} the weights did not move and .grad is " + ("None" if value else "all zeros"), NOTE)
            mistakes = [(1.0, "that is the gradient, not the new w", "w - lr * grad")]
            return wrong(f"you said {value:g}: {mistakes[0][1]}", "ok")
        '''
    )
    assert found == {
        "a module constant used as a message",
        "at step {0} the weights did not move and .grad is None",
        "at step {0} the weights did not move and .grad is all zeros",
        "that is the gradient, not the new w",
        "w - lr * grad",  # a mistake table's hint: any string of words outside a raise, a key or a comparison
        "you said {0}: {1}",
        "ok",  # a single word, but an argument of wrong()
    }


def test_extract_outside_exercises_takes_only_tr_arguments_and_inlines_constants():
    found = _templates(
        '''
        NOTE = "Interactive widget"
        TITLE = "a plot title, not translated"
        print(tr(NOTE + "."), tr(f"after {3} steps"), tr("lr"), "not through tr at all")
        ''',
        broad=False,
    )
    assert found == {"Interactive widget.", "after {0} steps", "lr"}


def test_extract_takes_the_english_of_the_widgets_label_and_say_and_named_texts():
    found = _templates(
        '''
        _label(w.FloatSlider(value=0.9), "momentum")
        _label(box, "beta1" if adam else "(unused)")
        _say(summary, f"loss {a} after {n} steps", f"{name}: {shown}")
        _say(summary, result["english"], result["summary"])
        summary = tr(english := f"{name} diverged after {n} steps")
        print(_label, "not a call")
        ''',
        broad=False,
    )
    assert found == {"momentum", "beta1", "(unused)", "loss {0} after {1} steps", "{0} diverged after {1} steps"}


def test_extract_skips_templates_that_would_match_anything():
    assert _templates('wrong(f"{a} {b}", f"a {b}")') == set()


def test_extract_covers_every_catalog_and_assigns_a_shared_template_once():
    found = extract()
    assert set(found) == set(CATALOGS)
    owners = {}
    for name, templates in found.items():
        for template in templates:
            assert template not in owners, f"{template!r} in {owners.get(template)} and {name}"
            owners[template] = name
    assert owners["Hint: "] == "core" and owners["give a number, without quotes"] == "core"  # also in nb05, nb07


def test_todo_cli_lists_a_catalog_and_refuses_an_unknown_one(capsys):
    code = cli.main(["todo", "core"])
    out = capsys.readouterr().out
    assert out.startswith("== helpers/i18n/zh/core.json: 0 missing, 0 unused, 0 placeholders") and code == 0, out
    assert cli.main(["todo", "nb99"]) == 2
    assert cli.main(["frobnicate"]) == 2


def test_todo_reports_missing_unused_and_placeholder_mismatches(tmp_path):
    helpers_copy = tmp_path / "helpers"
    (helpers_copy / "exercises").mkdir(parents=True)
    (helpers_copy / "i18n" / "zh").mkdir(parents=True)
    (helpers_copy / "exercises" / "nb03.py").write_text('wrong(f"you said {x}", "check the formula")\n')
    (helpers_copy / "i18n" / "zh" / "nb03.json").write_text(
        json.dumps({"you said {0}": "你说的是 {1}", "gone from the source": "已删除"}), encoding="utf-8"
    )
    report = todo(names=("nb03",), root=helpers_copy)["nb03"]
    assert report == {
        "missing": ["check the formula\thelpers/exercises/nb03.py:1"],
        "unused": ["gone from the source"],
        "placeholders": ["you said {0}"],
    }


@pytest.mark.parametrize("name", CATALOGS)
def test_catalog_is_complete_and_consistent(name):
    """Every extracted template has a Chinese entry in its own file, no entry is unused, placeholders agree."""
    report = todo(names=(name,))[name]
    assert report == {"missing": [], "unused": [], "placeholders": []}, f"python -m helpers.i18n todo {name}"


# --- every wrong-answer table of tests/test_exercises_nbNN.py, rendered in Chinese -----------

_PLUGIN = '''
"""Render every verdict the exercise tests show a second time, in Chinese and strict mode."""
import contextlib, io, json, os

import helpers.exercises._core as core
from helpers.i18n import set_language

SEEN, FAILED = [0], {}
_original = core._show


def _show_twice(name, verdict, reveal):
    tries = dict(core._TRIES)
    os.environ["HELPERS_STRICT_I18N"] = "1"
    set_language("zh")
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            _original(name, verdict, reveal)
        SEEN[0] += 1
    except LookupError as exc:
        FAILED.setdefault(str(exc), name)
    finally:
        set_language("en")
        del os.environ["HELPERS_STRICT_I18N"]
        core._TRIES.clear()
        core._TRIES.update(tries)
    return _original(name, verdict, reveal)


def pytest_configure(config):
    core._show = _show_twice


def pytest_sessionfinish(session):
    with open(os.environ["I18N_REPORT"], "w", encoding="utf-8") as f:
        json.dump({"seen": SEEN[0], "failed": FAILED}, f, ensure_ascii=False)
'''


def test_every_verdict_of_the_exercise_tests_renders_in_chinese(tmp_path):
    """Runs tests/test_exercises_nb*.py (their tables of wrong and right answers) with every
    verdict also rendered in Chinese under HELPERS_STRICT_I18N=1: each line a learner can see
    must have a catalog entry. The English tests themselves must still pass."""
    (tmp_path / "i18n_strict_plugin.py").write_text(_PLUGIN, encoding="utf-8")
    report = tmp_path / "report.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)]), "I18N_REPORT": str(report)}
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests").glob("test_exercises_nb*.py"))
    assert len(files) == 11
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "i18n_strict_plugin", *files],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    result = json.loads(report.read_text(encoding="utf-8"))
    assert result["seen"] > 500, result["seen"]  # the tables were really rendered
    missing = "\n".join(f"{checker}: {text}" for text, checker in sorted(result["failed"].items(), key=lambda kv: kv[1]))
    assert not result["failed"], f"{len(result['failed'])} lines without a Chinese entry:\n{missing}"
