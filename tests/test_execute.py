"""helpers.execute stores what does not depend on timing."""

import nbformat

from helpers.execute import WIDGET_VIEW, clean


def _stream(name, text):
    return nbformat.v4.new_output("stream", name=name, text=text)


def test_stream_chunks_are_joined_however_the_kernel_split_them():
    cell = nbformat.v4.new_code_cell("print(1); print(2)")
    cell.outputs = [
        _stream("stdout", "a\n"),
        _stream("stdout", "b\n"),
        _stream("stderr", "warn\n"),
        _stream("stdout", "c\n"),
        nbformat.v4.new_output("execute_result", data={"text/plain": "3"}, execution_count=1),
        _stream("stdout", "d\n"),
    ]
    nb = nbformat.v4.new_notebook(cells=[cell])
    clean(nb)
    kinds = [(o.output_type, o.get("name"), o.get("text")) for o in nb.cells[0].outputs]
    assert kinds == [
        ("stream", "stdout", "a\nb\n"),
        ("stream", "stderr", "warn\n"),
        ("stream", "stdout", "c\n"),
        ("execute_result", None, None),
        ("stream", "stdout", "d\n"),
    ]


def test_clean_keeps_slide_marks_and_drops_run_metadata():
    cell = nbformat.v4.new_code_cell("1")
    cell.metadata = {"slideshow": {"slide_type": "slide"}, "tags": ["x"], "execution": {"iopub.status.busy": "2025-01-01T00:00:00Z"}, "scrolled": True}
    nb = nbformat.v4.new_notebook(cells=[cell, nbformat.v4.new_markdown_cell("# T", metadata={"slideshow": {"slide_type": "skip"}})])
    clean(nb)
    assert nb.cells[0].metadata == {"slideshow": {"slide_type": "slide"}, "tags": ["x"]}
    assert nb.cells[1].metadata == {"slideshow": {"slide_type": "skip"}}


def test_clean_drops_the_live_widget_view_and_keeps_its_picture():
    view = {"version_major": 2, "version_minor": 0, "model_id": "abc123"}
    cell = nbformat.v4.new_code_cell("playground()")
    cell.outputs = [
        nbformat.v4.new_output(
            "execute_result",
            data={"text/plain": "Interactive widget ...", "image/png": "iVBORw0KGgo=", WIDGET_VIEW: view},
            metadata={"image/png": {"alt": "Interactive widget ..."}},
            execution_count=1,
        )
    ]
    nb = nbformat.v4.new_notebook(cells=[cell])
    clean(nb)
    (out,) = nb.cells[0].outputs
    assert set(out.data) == {"text/plain", "image/png"} and out.metadata == {"image/png": {"alt": "Interactive widget ..."}}
