import ipywidgets as w
import pytest

from helpers import lr_groups_playground, optimizer_playground, playground_run, train_two_groups
from helpers.widgets import make_optimizer_factory


def test_playground_run_is_pure_and_reports():
    a = playground_run("bowl", "SGD", 0.05, 0.5, 30)
    b = playground_run("bowl", "SGD", 0.05, 0.5, 30)
    assert a["path"].shape == (31, 2) and a["path"].equal(b["path"]) and not a["diverged"]
    assert a["summary"].startswith("SGD lr=0.05 momentum=0.5: after 30 steps at")
    diverged = playground_run("bowl", "SGD", 0.5, 0.9, 600)
    assert diverged["diverged"] and "diverged after" in diverged["summary"]
    for name in ("Adam", "RMSprop", "LBFGS"):
        assert playground_run("rosenbrock", name, 0.01, 0.9, 5)["path"].shape[1] == 2


def test_playground_run_summary_in_chinese_keeps_the_english():
    from helpers.i18n import set_language

    english = playground_run("bowl", "SGD", 0.05, 0.5, 30)
    assert english["english"] == english["summary"]
    set_language("zh")
    try:
        chinese = playground_run("bowl", "SGD", 0.05, 0.5, 30)
        diverged = playground_run("bowl", "SGD", 0.5, 0.9, 600)
    finally:
        set_language("en")
    assert chinese["english"] == english["summary"] and chinese["summary"].startswith("SGD lr=0.05 momentum=0.5：30 步后位于")
    assert diverged["summary"].startswith("SGD 在 ") and diverged["english"].startswith("SGD diverged after")


def test_factory_errors():
    with pytest.raises(ValueError, match="optimizer must be one of"):
        make_optimizer_factory("Adagrad", 0.1)
    with pytest.raises(ValueError, match="lr must be > 0"):
        make_optimizer_factory("SGD", 0)
    with pytest.raises(ValueError, match=r"momentum must be in \[0, 1\)"):
        make_optimizer_factory("SGD", 0.1, 1.0)


def _find(widget, kind):
    found = []
    if isinstance(widget, kind):
        found.append(widget)
    for child in getattr(widget, "children", ()):
        found += _find(child, kind)
    return found


def test_optimizer_playground_redraws_on_change():
    box = optimizer_playground("bowl", steps=20)
    summary = _find(box, w.HTML)[0]
    picture = _find(box, w.Image)[0]
    first, first_png = summary.value, picture.value
    assert bytes(first_png[:4]) == b"\x89PNG"
    lr = [s for s in _find(box, w.FloatLogSlider) if s.description == "lr"][0]
    lr.value = 0.01
    assert summary.value != first and "lr=0.01" in summary.value
    assert picture.value != first_png
    dropdown = [d for d in _find(box, w.Dropdown) if d.description == "optimizer"][0]
    dropdown.value = "Adam"
    momentum = _find(box, w.FloatSlider)[0]
    assert momentum.description == "beta1" and summary.value.startswith("Adam")


def test_two_groups_training_and_widget():
    result = train_two_groups(0.01, 0.05, steps=20)
    h = result["lrs"]
    assert h[h["step"] == 1]["lr"].tolist() == pytest.approx([0.01, 0.05])
    assert h["lr"].iloc[-1] < 0.05 and len(result["losses"]) == 20
    assert result["losses"][-1] < result["losses"][0]
    with pytest.raises(ValueError, match="lr_body must be > 0"):
        train_two_groups(0, 0.1)
    box = lr_groups_playground(steps=10)
    summary = _find(box, w.HTML)[0]
    body = [s for s in _find(box, w.FloatLogSlider) if s.description == "lr body"][0]
    before = _find(box, w.Image)[0].value
    body.value = 0.1
    assert "body 0.1," in summary.value
    assert _find(box, w.Image)[0].value != before
