import random

import numpy as np
import pytest
import torch

import helpers
from helpers import pick_device, seed_everything, setup_notebook
from helpers.notebook import add_figure_alt_text


def test_seed_everything_repeats_python_numpy_and_torch():
    seed_everything(3)
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    seed_everything(3)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == first
    seed_everything(4)
    assert torch.rand(1).item() != first[2]


@pytest.mark.parametrize("bad", [1.5, "0", None, True])
def test_seed_must_be_an_int(bad):
    with pytest.raises(TypeError, match="seed must be an int"):
        seed_everything(bad)


def test_seed_range():
    with pytest.raises(ValueError, match=r"seed must be in \[0, 2\*\*32\)"):
        seed_everything(-1)


def test_pick_device_default_is_cpu_here(monkeypatch):
    monkeypatch.delenv("NOTEBOOK_DEVICE", raising=False)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    if expected == "cpu" and torch.backends.mps.is_available():
        expected = "mps"
    assert pick_device().type == expected


def test_pick_device_argument_wins_over_environment(monkeypatch):
    monkeypatch.setenv("NOTEBOOK_DEVICE", "definitely-not-a-device")
    assert pick_device("cpu") == torch.device("cpu")
    assert pick_device(torch.device("cpu")) == torch.device("cpu")


def test_pick_device_reads_environment(monkeypatch):
    monkeypatch.setenv("NOTEBOOK_DEVICE", "cpu")
    assert pick_device() == torch.device("cpu")
    monkeypatch.setenv("NOTEBOOK_DEVICE", "tpu")
    with pytest.raises(ValueError, match=r"unknown device 'tpu' \(from the environment variable NOTEBOOK_DEVICE\).*this machine has: cpu"):
        pick_device()


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without CUDA")
def test_unavailable_device_names_what_is_available():
    with pytest.raises(ValueError, match=r"device 'cuda' .* is not available here; this machine has: cpu"):
        pick_device("cuda")


def test_pick_device_type_error():
    with pytest.raises(TypeError, match="device name must be a str"):
        pick_device(3)


def test_setup_notebook_prints_one_line_and_sets_print_options(capsys):
    device = setup_notebook(seed=0, device="cpu")
    out = capsys.readouterr().out
    assert device == torch.device("cpu")
    assert out.count("\n") == 1
    for part in (f"torch {torch.__version__}", f"helpers {helpers.__version__}", "device: cpu", "seed: 0", "Python 3."):
        assert part in out
    assert str(torch.tensor([0.123456, 1e-8])) == "tensor([0.1235, 0.0000])"
    torch.set_printoptions(profile="default")


def test_setup_notebook_sets_cpu_threads(capsys):
    before = torch.get_num_threads()
    try:
        setup_notebook(seed=0, device="cpu")
        assert torch.get_num_threads() == 1 and "CPU threads: 1" in capsys.readouterr().out
        torch.set_num_threads(2)
        setup_notebook(seed=0, device="cpu", threads=None)  # PyTorch's setting is left alone
        assert torch.get_num_threads() == 2 and "CPU threads: 2" in capsys.readouterr().out
        for bad, error in ((0, ValueError), (1.5, TypeError), ("2", TypeError)):
            with pytest.raises(error, match="threads must be a positive int"):
                setup_notebook(seed=0, device="cpu", threads=bad)
    finally:
        torch.set_num_threads(before)
        torch.set_printoptions(profile="default")


def test_setup_notebook_is_reproducible(capsys):
    setup_notebook(seed=7, device="cpu")
    a = torch.randn(3)
    setup_notebook(seed=7, device="cpu")
    assert torch.equal(torch.randn(3), a)
    torch.set_printoptions(profile="default")


def test_import_changes_no_global_state():
    import subprocess
    import sys

    code = (
        "import matplotlib, torch, random\n"
        "before = {k: matplotlib.rcParams._get(k) for k in dict.keys(matplotlib.rcParams)}; s = random.getstate(); t = torch.random.get_rng_state()\n"
        "import helpers\n"
        "assert {k: matplotlib.rcParams._get(k) for k in dict.keys(matplotlib.rcParams)} == before, 'rcParams changed'\n"
        "assert random.getstate() == s and torch.equal(torch.random.get_rng_state(), t), 'RNG touched'\n"
        "import sys; assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("name", ["cpu:1", "cpu:7", "CPU:2"])
def test_pick_device_refuses_a_cpu_index_that_does_not_exist(name, monkeypatch):
    with pytest.raises(ValueError, match=rf"device {name!r} \(from the argument name\) does not exist: there is only one cpu device; use 'cpu'"):
        pick_device(name)
    monkeypatch.setenv("NOTEBOOK_DEVICE", name)
    with pytest.raises(ValueError, match="from the environment variable NOTEBOOK_DEVICE"):
        pick_device()


def test_pick_device_cpu_0_is_the_cpu():
    device = pick_device("cpu:0")
    assert device == torch.device("cpu") == torch.zeros(1, device=device).device
    assert pick_device(torch.device("cpu", 0)) == torch.device("cpu")


@pytest.mark.parametrize("name", ["cpu:-1", "cpu:x", "cuda:-1"])
def test_pick_device_unparsable_index(name):
    with pytest.raises(ValueError, match=rf"(cannot parse device|device {name!r}.*not available)"):
        pick_device(name)


# --- alternative text on figures ------------------------------------------------------------


def _formatter_with(printer):
    from IPython.core.formatters import DisplayFormatter
    from matplotlib.figure import Figure

    formatter = DisplayFormatter()
    if printer is not None:
        formatter.formatters["image/png"].for_type(Figure, printer)
    return formatter


def _titled_figure():
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2, 2))
    fig.subplots().set_title("Loss")
    return fig


def test_figures_get_alt_text_through_ipython_display_formatter():
    from functools import partial

    from IPython.core.pylabtools import print_figure

    formatter = _formatter_with(partial(print_figure, fmt="png", base64=True))  # what the inline backend registers
    assert add_figure_alt_text(formatter) and add_figure_alt_text(formatter)  # a second call (setup_notebook again) ...
    printer = formatter.formatters["image/png"].lookup(_titled_figure())
    assert printer.adds_alt_text and not getattr(printer.__closure__[0].cell_contents, "adds_alt_text", False)  # ... wraps once
    data, metadata = formatter.format(_titled_figure())
    assert data["image/png"].startswith("iVBOR") and data["text/plain"].startswith("<Figure size")
    assert metadata == {"image/png": {"alt": "Figure. Loss."}}


def test_retina_figures_keep_their_size_and_get_alt_text():
    from functools import partial

    from IPython.core.pylabtools import retina_figure

    formatter = _formatter_with(partial(retina_figure, base64=True))
    add_figure_alt_text(formatter)
    _, metadata = formatter.format(_titled_figure())
    assert set(metadata["image/png"]) == {"width", "height", "alt"} and metadata["image/png"]["alt"] == "Figure. Loss."


def test_no_png_printer_no_change():
    formatter = _formatter_with(None)
    assert add_figure_alt_text(formatter) is False
    assert "image/png" not in formatter.format(_titled_figure())[0]


def test_setup_notebook_wraps_the_shells_figure_printer(capsys, monkeypatch):
    from functools import partial
    from types import SimpleNamespace

    import IPython
    from IPython.core.pylabtools import print_figure

    formatter = _formatter_with(partial(print_figure, fmt="png", base64=True))
    shell = SimpleNamespace(display_formatter=formatter)  # no InteractiveTB: tracebacks are left alone
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
    try:
        setup_notebook(seed=0, device="cpu")
        assert formatter.format(_titled_figure())[1] == {"image/png": {"alt": "Figure. Loss."}}
        monkeypatch.setattr(IPython, "get_ipython", lambda: SimpleNamespace())  # a shell without display formatters
        setup_notebook(seed=0, device="cpu")
        monkeypatch.setattr(IPython, "get_ipython", lambda: None)  # outside IPython
        setup_notebook(seed=0, device="cpu")
        assert capsys.readouterr().out.count("device: cpu") == 3
    finally:
        torch.set_printoptions(profile="default")
