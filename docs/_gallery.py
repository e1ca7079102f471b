"""Command-line arguments for the gallery's runs of ``examples/`` scripts."""

from pathlib import Path

# Scripts that take a --quick option: the gallery runs them on small data.
QUICK = {"out_of_core_memmap.py", "out_of_core_generator.py"}


def reset_argv(gallery_conf, script_vars):
    """sphinx-gallery's ``reset_argv``: the arguments for one example."""
    return ["--quick"] if Path(script_vars["src_file"]).name in QUICK else []
