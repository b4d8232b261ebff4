"""The static site: ``python -m helpers.site [OUT]`` (or ``make site``) builds ``build/site/``.

Sphinx with MyST-NB and the book theme renders the notebooks' stored outputs (nothing is
executed: CI has executed and compared them). ``build_site`` first writes a Sphinx source
folder next to OUT (``build/site-src/`` for ``build/site/``, rebuilt every time) holding:

- a copy of every notebook, prepared for the page: JupyterLab-style section anchors
  (``00_start_here.ipynb#5.-Map-of-the-collection``) rewritten to the site's heading ids,
  error tracebacks reduced to ``ExceptionType: message``, widget-view outputs dropped where a
  picture is stored, the worked solutions (``notebooks/solutions/NN_topic.py``) added after
  "### Solutions" as a collapsed code cell, a download line for the student edition on top;
- ``index.md`` (the collection's map, from :mod:`helpers.nav`), ``teachers.md``
  (``nav.teachers_markdown``) and ``distributed.md`` (the scripts notebook 09 runs);
- ``conf.py``, which also loads this module as a Sphinx extension: it gives each notebook
  image the alternative text stored in its output's metadata (``metadata["image/png"]["alt"]``).

Then it builds the HTML (math typeset by a bundled MathJax, search from Sphinx's own index,
nothing fetched from the network) and writes the student edition into ``OUT/student/`` with
one zip of them all. A Sphinx warning fails the build (``strict=False`` only reports them).
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import shutil
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import nbformat
from markdown_it import MarkdownIt

from . import nav
from .student import write_student_edition

ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
SOLUTIONS_RE = re.compile(r"\s*### Solutions\b")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif")
STUDENT_FOLDER = "student"
STUDENT_ZIP = "optimizer-notebooks-student.zip"
ALT_CONFIG = "site_image_alt"  # conf.py value: {sha256 of the image bytes: alternative text}
SHOW_SOLUTIONS = "Show the worked solutions (try the exercises yourself first)"
HIDE_SOLUTIONS = "Hide the worked solutions"
ASSETS = Path(__file__).resolve().parent / "site_assets"
_MD = MarkdownIt("commonmark")


class SiteBuildError(RuntimeError):
    """The site could not be built cleanly (the message says what to fix)."""


# ---- Anchors: JupyterLab's (heading text, spaces to '-') to the site's heading ids ----------


def heading_titles(markdown: str) -> list[str]:
    """The plain text of every heading in ``markdown`` (code spans keep their text, markup goes).

    Example: ``heading_titles("## 1. What `lr` does")`` is ``["1. What lr does"]``.
    """
    tokens = _MD.parse(markdown)
    titles = []
    for k, token in enumerate(tokens):
        if token.type == "heading_open" and k + 1 < len(tokens):
            children = tokens[k + 1].children or []
            titles.append("".join(c.content for c in children if c.type in ("text", "code_inline")))
    return titles


def anchor_map(documents: dict[str, list[str]]) -> dict[tuple[str, str], str]:
    """``{(file name, JupyterLab anchor): site anchor}`` for the headings of each document.

    ``documents`` maps a file name (``01_param_groups.ipynb``) to its markdown texts in order.
    The site anchor is MyST's GitHub-style slug (``myst_heading_anchors``), made unique per page
    the way MyST does it. Example key: ``("00_start_here.ipynb", "5.-Map-of-the-collection")``.
    """
    from myst_parser.slugs import github_slugify, unique_slug

    anchors: dict[tuple[str, str], str] = {}
    for name, texts in documents.items():
        seen: set[str] = set()
        for title in (t for text in texts for t in heading_titles(text)):
            slug = github_slugify(title)
            if not slug:
                continue
            slug = unique_slug(slug, seen)
            seen.add(slug)
            anchors.setdefault((name, title.replace(" ", "-")), slug)
    return anchors


# A markdown link target, which may hold balanced parentheses: `...#6.-...-next-step()`.
LINK_RE = re.compile(r"(\]\()([^()\s#]*)#((?:[^()\s]|\([^()\s]*\))+)(\))")


def rewrite_anchors(markdown: str, here: str, anchors: dict[tuple[str, str], str]) -> str:
    """``markdown`` with each link ``file#JupyterLab-anchor`` (or ``#anchor`` on page ``here``)
    pointing at the site's heading id. Links whose anchor is unknown are left as they are (the
    build then warns about them)."""

    def fix(m: re.Match[str]) -> str:
        target = m.group(2) or here
        slug = anchors.get((target, m.group(3)))
        return m.group(0) if slug is None else f"{m.group(1)}{m.group(2)}#{slug}{m.group(4)}"

    return LINK_RE.sub(fix, markdown)


# ---- Notebooks as pages ------------------------------------------------------------------------


def image_alts(nb: nbformat.NotebookNode) -> tuple[dict[str, str], int]:
    """``({sha256 of image bytes: alt}, number of images without alt)`` of a notebook's outputs."""
    alts: dict[str, str] = {}
    missing = 0
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            for mime in IMAGE_TYPES:
                if mime not in output.get("data", {}):
                    continue
                digest = hashlib.sha256(base64.b64decode(output["data"][mime])).hexdigest()
                alt = str(output.get("metadata", {}).get(mime, {}).get("alt", "")).strip()
                if alt:
                    alts[digest] = alt
                else:
                    missing += 1
    return alts, missing


def _clean_outputs(cell: nbformat.NotebookNode) -> None:
    for output in cell.get("outputs", []):
        if output.output_type == "error":
            # A learner reads the exception and its message; IPython's colours would show as junk.
            output.traceback = [ANSI_RE.sub("", f"{output.ename}: {output.evalue}")]
        data = output.get("data", {})
        if WIDGET_VIEW in data and any(m in data for m in IMAGE_TYPES):
            del data[WIDGET_VIEW]  # no live kernel on the site: the stored picture is the widget


def _solutions_cell(code: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(code.rstrip() + "\n")
    cell.metadata = {
        "tags": ["hide-input"],
        "mystnb": {"code_prompt_show": SHOW_SOLUTIONS, "code_prompt_hide": HIDE_SOLUTIONS},
    }
    return cell


def _download_cell(name: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_markdown_cell(
        f'<a class="student-download" href="{STUDENT_FOLDER}/{name}" download>Download the student edition '
        f"of this notebook</a> (the exercises without their solutions; it runs in JupyterLab with this "
        f"collection's <code>helpers</code> installed)."
    )


def site_notebook(
    nb: nbformat.NotebookNode, name: str, solutions: str | None, anchors: dict[tuple[str, str], str]
) -> nbformat.NotebookNode:
    """A copy of notebook ``name`` prepared for its page (see the module's docstring).

    ``solutions`` is the text of its worked solutions file (None: there is none).
    """
    out = nbformat.from_dict(nb)
    out.metadata.pop("widgets", None)  # widget state would make MyST-NB load widget JS from a CDN
    cells = []
    solutions_at = None  # where the collapsed solutions go: after the run_solutions(...) cell, if any
    for k, cell in enumerate(out.cells):
        if cell.cell_type == "markdown":
            if SOLUTIONS_RE.match(cell.source):
                solutions_at = len(cells) + 1
            cell.source = rewrite_anchors(cell.source, name, anchors).replace("](distributed)", "](distributed.md)")
        elif cell.cell_type == "code":
            _clean_outputs(cell)
            if solutions_at == len(cells) and "run_solutions(" in cell.source:
                solutions_at += 1
        cells.append(cell)
        if k == 0:
            cells.append(_download_cell(name))
    if solutions is not None:
        if solutions_at is None:
            raise SiteBuildError(f"{name}: there is a solutions file but no '### Solutions' markdown cell to put it under")
        cells.insert(solutions_at, _solutions_cell(solutions))
    out.cells = cells
    return out


# ---- The other pages -----------------------------------------------------------------------


def _collection_title(root: Path) -> str:
    readme = root / "README.md"
    if readme.exists():
        for line in readme.read_text(encoding="utf-8").splitlines():
            if line.startswith("# "):
                return line[2:].strip()
    return "Notebooks"


def home_markdown(title: str, entries: list[nav.Entry]) -> str:
    """The home page: the collection's map, the teacher page and the student downloads."""
    toctree = "\n".join(e.path.name for e in entries)
    student = "\n".join(
        f'- <a href="{STUDENT_FOLDER}/{e.path.name}" download>{e.path.name}</a>: {e.title}' for e in entries
    )
    return f"""# {title}

An interactive collection of Jupyter notebooks that teaches how `torch.optim.Optimizer` works,
rendered here with the outputs CI executed and checked. Each page is one notebook; run them
yourself in JupyterLab to move the widgets and try the exercises.

**For teachers:** a 90-minute walkthrough, the self-study path and the slides are on the
[teacher page](teachers.md).

## The notebooks

{nav.table(entries, prefix="")}

## The student edition

Every notebook with its lessons, stored outputs and exercise stubs, without the worked
solutions: <a href="{STUDENT_FOLDER}/{STUDENT_ZIP}" download>all notebooks in one zip</a>, or one at a time:

{student}

```{{toctree}}
:hidden:
:maxdepth: 1

{toctree}
teachers
```
"""


def distributed_markdown(folder: Path) -> str:
    """An orphan page with the worker scripts notebook 09 runs (its link to ``distributed/``)."""
    parts = [
        "---\norphan: true\n---\n",
        "# The scripts notebook 09 runs\n",
        "Notebook 09 starts these scripts in several processes (`notebooks/distributed/` in the repository).\n",
    ]
    for script in sorted(folder.glob("*.py")):
        text = script.read_text(encoding="utf-8").rstrip()
        parts.append(f"## `{script.name}`\n\n````python\n{text}\n````\n")
    return "\n".join(parts)


def _conf(title: str, alts: dict[str, str]) -> str:
    settings: dict[str, Any] = {
        "project": title,
        "html_title": title,
        "extensions": ["myst_nb", "sphinx-mathjax-offline", "helpers.site"],
        "myst_enable_extensions": ["dollarmath", "amsmath"],
        "myst_heading_anchors": 6,
        # Notebook 06 writes \texttt{momentum\_buffer}: text-mode macros, as JupyterLab renders them.
        "mathjax3_config": {"loader": {"load": ["[tex]/textmacros"]}, "tex": {"packages": {"[+]": ["textmacros"]}}},
        "nb_execution_mode": "off",  # the stored outputs are rendered: CI executed and compared them
        "nb_ipywidgets_js": {},  # no widget JavaScript from a CDN: widgets show their stored picture
        # A widget's stored picture wins over any other form of its output.
        "nb_mime_priority_overrides": [("html", "image/png", 15)],
        "html_theme": "sphinx_book_theme",
        "html_theme_options": {
            "home_page_in_toc": True,
            "show_navbar_depth": 1,
            "use_download_button": False,  # the download line on each page offers the student edition
            "footer_content_items": [],  # no "By Author name not set"
        },
        "html_static_path": [str(ASSETS)],
        "html_css_files": ["site.css"],
        "html_show_sphinx": False,
        "html_show_copyright": False,
        "exclude_patterns": [".build", "conf.py"],
        ALT_CONFIG: alts,
    }
    lines = ['"""Sphinx settings of the site, written by helpers/site.py (rebuilt with make site)."""', ""]
    lines += [f"{key} = {value!r}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"


def write_sources(src: Path, root: Path) -> int:
    """Write the Sphinx source folder ``src`` from the repository at ``root``.

    Returns the number of notebook images that have no alternative text.
    """
    folder = root / "notebooks"
    paths = nav.notebooks(folder)
    if not paths:
        raise SiteBuildError(f"no notebooks NN_topic.ipynb in {folder}: is {root} the repository?")
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    entries = [nav.read_entry(p) for p in paths]
    notebooks = {p.name: nbformat.read(p, as_version=4) for p in paths}
    teachers = nav.teachers_markdown(root, prefix="")
    texts = {name: [c.source for c in nb.cells if c.cell_type == "markdown"] for name, nb in notebooks.items()}
    anchors = anchor_map(texts)
    alts: dict[str, str] = {}
    missing = 0
    for name, nb in notebooks.items():
        solutions_file = folder / "solutions" / name.replace(".ipynb", ".py")
        solutions = solutions_file.read_text(encoding="utf-8") if solutions_file.exists() else None
        page = site_notebook(nb, name, solutions, anchors)
        (src / name).write_text(nbformat.writes(page) + "\n", encoding="utf-8")
        found, lacking = image_alts(nb)
        alts.update(found)
        missing += lacking
    if (folder / "solutions").is_dir():  # the notebooks link solutions/NN_topic.py (a download)
        shutil.copytree(folder / "solutions", src / "solutions", ignore=shutil.ignore_patterns("__pycache__"))
    title = _collection_title(root)
    (src / "index.md").write_text(home_markdown(title, entries), encoding="utf-8")
    (src / "teachers.md").write_text(rewrite_anchors(teachers, "teachers.md", anchors), encoding="utf-8")
    if (folder / "distributed").is_dir():
        (src / "distributed.md").write_text(distributed_markdown(folder / "distributed"), encoding="utf-8")
    (src / "conf.py").write_text(_conf(title, alts), encoding="utf-8")
    return missing


def _write_student(out: Path, root: Path) -> None:
    folder = out / STUDENT_FOLDER
    written = write_student_edition(folder, source=root / "notebooks")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in (".ipynb", ".py")):
            zf.write(path, Path("optimizer-notebooks") / path.relative_to(folder))
    (folder / STUDENT_ZIP).write_bytes(buffer.getvalue())
    if not written:
        raise SiteBuildError(f"the student edition in {folder} is empty")


def _check_out(out: Path) -> None:
    """Refuse to replace a folder that is not an earlier site (a typo must not delete files)."""
    if out.exists() and any(out.iterdir()) and not (out / ".buildinfo").exists():
        raise SiteBuildError(f"{out} exists and is not a site built before: give an empty or new folder")


def build_site(out: Path, root: Path | None = None, strict: bool = True) -> Path:
    """Build the site into ``out`` (replaced) from the repository at ``root`` (this one by default).

    Returns ``out / "index.html"``. Raises :class:`SiteBuildError` when Sphinx warns (with
    ``strict``; without it the warnings are printed) or when ``out`` is a folder of other files.
    Example: ``build_site(Path("build/site"))``.
    """
    from sphinx.application import Sphinx
    from sphinx.util.docutils import docutils_namespace, patch_docutils

    root = (nav.ROOT if root is None else Path(root)).resolve()
    out = Path(out).resolve()
    _check_out(out)
    src = out.parent / f"{out.name}-src"
    missing = write_sources(src, root)
    if out.exists():
        shutil.rmtree(out)
    warnings = io.StringIO()
    status = io.StringIO()
    # As sphinx-build does: docutils' registries are global, and a second build in one process
    # (the tests) would otherwise warn that every node class is registered already.
    # Sphinx writes into src/.build/html, then the site moves to out: MyST-NB keeps its image
    # files next to the output folder (a "jupyter_execute" folder), which thus stays in src.
    html = src / ".build" / "html"
    with patch_docutils(src), docutils_namespace():
        app = Sphinx(
            str(src), str(src), str(html), str(src / ".build" / "doctrees"), "html",
            status=status, warning=warnings, freshenv=True, keep_going=True,
        )
        app.build(force_all=True)
    if app.statuscode:
        raise SiteBuildError(f"Sphinx failed (status {app.statuscode}) building {src}:\n{ANSI_RE.sub('', warnings.getvalue())}")
    shutil.move(html, out)
    _write_student(out, root)
    text = ANSI_RE.sub("", warnings.getvalue()).strip()
    if missing:
        print(f"note: {missing} notebook image(s) have no alternative text (metadata['image/png']['alt']); re-execute the notebooks")
    if text:
        if strict:
            raise SiteBuildError(f"Sphinx warned while building {out} (fix each, or silence it in helpers/site.py with a reason):\n{text}")
        print(text, file=sys.stderr)
    return out / "index.html"


# ---- The Sphinx extension part (conf.py lists "helpers.site") ------------------------------


def _set_alt_text(app: Any, doctree: Any) -> None:
    """Give each notebook image its stored alternative text, found by the sha256 MyST-NB names
    its file with; an image without one gets an empty alt (never its file name), which the
    site's tests report."""
    from docutils import nodes

    alts: dict[str, str] = getattr(app.config, ALT_CONFIG)
    for node in doctree.findall(nodes.image):
        if node.get("alt"):
            continue
        node["alt"] = alts.get(Path(str(node["uri"])).stem, "")


def setup(app: Any) -> dict[str, Any]:
    """Sphinx extension entry point: the alternative text of notebook images."""
    app.add_config_value(ALT_CONFIG, {}, "env", dict)
    app.connect("doctree-read", _set_alt_text)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0]) if args else nav.ROOT / "build" / "site"
    start = time.monotonic()
    try:
        index = build_site(out)
    except SiteBuildError as exc:
        print(f"make site: {exc}", file=sys.stderr)
        return 1
    print(f"built the site in {time.monotonic() - start:.0f} s: open {index}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
