"""fastsgd as a package: what it reports about itself, importing it from a source
tree, and running the test suite from a checkout."""

import sys

import numpy as np
import scipy
import sklearn

import fastsgd


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
