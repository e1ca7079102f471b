"""fastsgd as a package: what it reports about itself, importing it from a source
tree, and running the test suite from a checkout."""

import shutil
import subprocess
import sys
import textwrap
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import numpy as np
import scipy
import sklearn

import fastsgd

CHECKOUT = Path(__file__).resolve().parent.parent

# An editable install's import hook would supply its own checkout's built
# kernels to any fastsgd source tree: leave it out to see an unbuilt tree as it is.
WITHOUT_EDITABLE_HOOKS = (
    "import sys; sys.meta_path[:] = "
    "[f for f in sys.meta_path if 'editable' not in repr(f).lower()]"
)


def unbuilt_source_tree(root):
    """fastsgd's Python sources under ``root/fastsgd``, without compiled kernels."""
    compiled = [f"*{suffix}" for suffix in EXTENSION_SUFFIXES]
    shutil.copytree(
        Path(fastsgd.__file__).parent,
        root / "fastsgd",
        ignore=shutil.ignore_patterns("__pycache__", *compiled),
    )
    return root / "fastsgd"


def test_show_versions_prints_fastsgd_its_dependencies_and_blas(capsys):
    fastsgd.show_versions()
    out = capsys.readouterr().out
    lines = {
        name.strip(): value.strip()
        for name, _, value in (line.partition(":") for line in out.splitlines())
    }
    assert lines["fastsgd"] == fastsgd.__version__
    assert lines["numpy"] == np.__version__
    assert lines["scipy"] == scipy.__version__
    assert lines["scikit-learn"] == sklearn.__version__
    assert lines["python"] == sys.version.replace("\n", " ")
    assert lines["executable"] == sys.executable
    assert "threadpoolctl info:" in out and "internal_api" in lines


def test_importing_an_unbuilt_source_tree_says_how_to_build_it(tmp_path):
    source = unbuilt_source_tree(tmp_path)
    result = subprocess.run(
        [sys.executable, "-c", f"{WITHOUT_EDITABLE_HOOKS}; import fastsgd"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    message = result.stderr[result.stderr.rindex("ImportError: ") :]
    assert f"fastsgd's compiled kernels cannot be imported from {source}" in message
    assert "pip install ." in message and "circular import" not in message


def test_python_m_pytest_from_a_checkout_tests_the_installed_fastsgd(tmp_path):
    """``python -m pytest`` puts the checkout first on sys.path, where fastsgd's
    kernels are not built; the test configuration must still test the installed
    package, as ``pytest`` does."""
    unbuilt_source_tree(tmp_path)
    shutil.copy(CHECKOUT / "pyproject.toml", tmp_path)
    (tmp_path / "tests").mkdir()
    for helper in ("conftest.py", "_helpers.py"):
        shutil.copy(CHECKOUT / "tests" / helper, tmp_path / "tests")
    (tmp_path / "tests" / "test_which_fastsgd.py").write_text(
        textwrap.dedent(
            """
            from pathlib import Path

            import fastsgd


            def test_the_installed_fastsgd_is_imported():
                checkout = Path(__file__).resolve().parent.parent
                assert checkout not in Path(fastsgd.__file__).resolve().parents
                fastsgd.MLPClassifier(max_iter=2).fit([[0.0], [1.0]], [0, 1])
            """
        )
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_import_loads_only_the_estimators():
    """The experiment, the benchmark and their plotting stay unloaded until used."""
    code = textwrap.dedent(
        """
        import sys
        import fastsgd
        heavy = ("fastsgd._experiment", "fastsgd._benchmark", "fastsgd._roofline",
                 "matplotlib")
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("matplotlib",)
                     or m.startswith(heavy)))
        fastsgd.compare_batch_sizes
        print("fastsgd._experiment" in sys.modules)
        """
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split("\n")[:2] == ["[]", "True"]


def test_the_lazy_names_are_public():
    assert "compare_batch_sizes" in dir(fastsgd)
    assert callable(fastsgd.compare_batch_sizes)
