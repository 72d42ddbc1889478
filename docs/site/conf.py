"""Sphinx configuration of ref_cnn's documentation site (built by scripts/docs_site.py,
which copies these sources next to the generated pages and runs sphinx-build -W)."""

import os
import sys
from pathlib import Path

# the repository: scripts/docs_site.py says where; by default build/docs/src → the repository
ROOT = Path(os.environ.get("REF_CNN_ROOT") or Path(__file__).resolve().parents[3])
sys.path.insert(0, str(ROOT))

import ref_cnn  # noqa: E402

project = "ref_cnn"
release = version = ref_cnn.__version__
copyright = "ref_cnn's authors, MIT licence"
extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",  # MathJax 3 shipped in the package: the pages need no network
]
mathjax_path = "mathjax/tex-chtml.js"
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build"]
# signatures written with Unicode maths (docs/API.md) are not Python; Pygments shows them plain
suppress_warnings = ["misc.highlighting_failure"]
html_theme = "alabaster"
html_title = f"ref_cnn {version}"
html_theme_options = {"page_width": "auto", "body_max_width": "none", "sidebar_width": "220px"}
html_static_path = []
autodoc_typehints = "none"  # signatures as written; the docstrings say the types and shapes
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "undoc-members": False}


def _docstring_as_written(app, what, name, obj, options, lines):
    """Show each docstring as the preformatted text it is (Unicode maths, Shape and Notes
    sections laid out for a terminal), not parsed as reStructuredText."""
    if lines:
        lines[:] = ["::", ""] + ["    " + line for line in lines] + [""]


def setup(app):
    app.connect("autodoc-process-docstring", _docstring_as_written)
