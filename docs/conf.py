"""Sphinx configuration of fastsgd's documentation.

Build it with ``pip install ".[docs]"`` and, from the repository's root,
``sphinx-build -W --keep-going -b html docs docs/_build/html`` (``.ci/docs`` does
both). The user guide's pages include the README's sections, so the README stays
the one source of that text; the API reference is generated from the docstrings
(numpydoc, autosummary) and the gallery from ``examples/`` (sphinx-gallery).
"""

import os
import re
import sys
from pathlib import Path

import fastsgd

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS))  # _gallery.py, for sphinx-gallery's reset_argv

project = "fastsgd"
author = "the fastsgd developers"
copyright = "2026, the fastsgd developers"
release = fastsgd.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
smartquotes = False  # "sgd" in a parameter's type stays "sgd"
exclude_patterns = ["_build", "_templates", "Thumbs.db", ".DS_Store"]
# No intersphinx: the build must not need the network.

# -- MyST: the user guide's pages include the README's sections ---------------------
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3
# A README section (H2) becomes a page (H1) whose subsections stay H3: MyST warns
# about the skipped level, though the page's structure comes out right.
suppress_warnings = ["myst.header"]

# -- API reference ------------------------------------------------------------------
autosummary_generate = True
autodoc_default_options = {"inherited-members": True}  # fit, score... are inherited
autodoc_typehints = "none"
numpydoc_show_class_members = False  # the class template lists the members
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False


def _plain_sklearn_roles(app, what, name, obj, options, lines):
    """Methods inherited from scikit-learn (``score``, ``get_params``, the
    metadata-routing ``set_*_request``...) keep scikit-learn's docstrings, which
    point into scikit-learn's glossary and user guide (``:term:``, ``:ref:``).
    Without intersphinx those targets do not exist here: keep their text."""
    module = getattr(obj, "__module__", None) or ""
    if not module.startswith("sklearn"):
        return
    role = re.compile(r":(?:term|ref):`([^`<]*?)\s*(?:<[^`>]*>)?`")
    lines[:] = [role.sub(lambda m: f"*{m.group(1)}*", line) for line in lines]


def setup(app):
    app.connect("autodoc-process-docstring", _plain_sklearn_roles)


# -- The gallery: examples/ ---------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": str(DOCS.parent / "examples"),
    "gallery_dirs": "auto_examples",
    # Every example runs in the build except those that need a Dask cluster.
    "filename_pattern": r"/(?!dask_)[^/]+\.py$",
    "reset_argv": "_gallery.reset_argv",  # small data for the out-of-core scripts
    "download_all_examples": False,
    "remove_config_comments": True,
    "backreferences_dir": None,
    "within_subsection_order": "FileNameSortKey",
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "show_memory": False,
}
os.environ.setdefault("MPLBACKEND", "Agg")

# -- HTML ---------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"fastsgd {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 6,
}
html_static_path = []
html_show_sourcelink = False
