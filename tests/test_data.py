import pytest
import torch

from helpers import BlogNet, TinyMLP, make_spirals


def test_spirals_shapes_labels_and_seed():
    X, y = make_spirals(50, classes=3, seed=1)
    assert X.shape == (150, 2) and y.shape == (150,)
    assert torch.bincount(y).tolist() == [50, 50, 50]
    X2, _ = make_spirals(50, classes=3, seed=1)
    assert torch.equal(X, X2)
    assert not torch.equal(X, make_spirals(50, classes=3, seed=2)[0])
    with pytest.raises(ValueError, match="classes must be at least 2"):
        make_spirals(10, classes=1)
    with pytest.raises(ValueError, match="n_per_class must be a positive int"):
        make_spirals(0)


def test_tiny_mlp_has_body_and_head():
    model = TinyMLP(2, hidden=8, out_features=3, depth=2)
    assert model(torch.zeros(4, 2)).shape == (4, 3)
    assert [n for n, _ in model.named_parameters()] == [
        "body.0.weight", "body.0.bias", "body.2.weight", "body.2.bias", "head.weight", "head.bias",
    ]


def test_blog_net_matches_the_blog():
    net = BlogNet()
    shapes = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    assert shapes == {"conv1.weight": (1, 3, 3, 3), "conv1.bias": (1,), "fc1.weight": (2, 9), "fc1.bias": (2,)}
    assert net(torch.zeros(5, 3, 8, 8)).shape == (5, 2)
    with pytest.raises(ValueError, match=r"expects images of shape \(N, 3, 8, 8\)"):
        net(torch.zeros(5, 3, 9, 9))


def test_digits_task_relabels_and_splits():
    from helpers import digits_task

    X, y, X_test, y_test = digits_task((5, 6, 7, 8, 9))
    assert X.shape[1] == 64 and 0 <= X.min() and X.max() <= 1
    assert set(y.tolist()) == set(y_test.tolist()) == {0, 1, 2, 3, 4}
    assert len(X_test) == int((len(X) + len(X_test)) * 0.25)
    again = digits_task((5, 6, 7, 8, 9))
    assert torch.equal(X, again[0]) and torch.equal(y_test, again[3])
    with pytest.raises(ValueError, match="distinct integers from 0 to 9"):
        digits_task((1, 1))
    with pytest.raises(ValueError, match="test_fraction"):
        digits_task((1, 2), test_fraction=1.5)


def test_digits_are_read_without_importing_sklearn_and_equal_load_digits():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from helpers.data import _digits\n"
        "pixels, labels = _digits()\n"
        "assert 'sklearn' not in sys.modules, 'sklearn was imported'\n"
        "from sklearn.datasets import load_digits\n"
        "import numpy as np\n"
        "d = load_digits()\n"
        "assert np.array_equal(pixels, d.data) and np.array_equal(labels, d.target)\n"
        "assert pixels.dtype == d.data.dtype and labels.dtype == np.int64\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
