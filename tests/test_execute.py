"""helpers.execute stores what does not depend on timing."""

import nbformat

from helpers.execute import clean


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
