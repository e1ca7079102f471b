"""The public API's docstrings: numpydoc's validation, and their examples run.

Every public name is checked: the functions and classes in ``fastsgd.__all__``
and ``fastsgd.callbacks.__all__``, and each public method and property of those
classes (found with ``dir``, so that a new public name is checked too).

Docstrings written in fastsgd pass every numpydoc check. Methods that come from
scikit-learn (``get_params``, ``set_params``, ``score``, ``set_callbacks``, the
metadata-routing ``set_*_request`` and ``get_metadata_routing``, ...) have
scikit-learn's own docstrings, which fastsgd does not own; for them the checks
in ``SKLEARN_IGNORED`` are skipped: scikit-learn's docstrings have no Examples
(EX01) and no See Also (SA01), some no extended summary (ES01), and they name
returned values as ``self : object`` (RT02). Not checked: the methods Python's
exceptions give ``InconsistentVersionWarning`` (``add_note``,
``with_traceback``), and ``fastsgd._sklearn_compat``'s stand-in that makes
``set_callbacks`` absent where scikit-learn has no callback API (< 1.9).

The examples of every docstring in the modules that define the public names run
as doctests (with ELLIPSIS and NORMALIZE_WHITESPACE), and must not warn.
"""

import doctest
import importlib
import inspect

import pytest

numpydoc_validate = pytest.importorskip("numpydoc.validate")

# Checks skipped for docstrings that scikit-learn writes (see the module docstring).
SKLEARN_IGNORED = frozenset({"EX01", "SA01", "ES01", "RT02"})

PUBLIC_MODULES = ["fastsgd", "fastsgd.callbacks"]


def _public_objects():
    """(qualified name, object, whether fastsgd wrote its docstring)."""
    found = []
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if not (inspect.isclass(obj) or callable(obj)):
                continue  # __version__
            qualname = f"{module_name}.{name}"
            found.append((qualname, obj, True))
            if inspect.isclass(obj):
                found += _public_members(qualname, obj)
    return found


def _public_members(qualname, cls):
    members = []
    for name in sorted(dir(cls)):
        if name.startswith("_"):
            continue
        owner = next(c for c in cls.__mro__ if name in vars(c))
        if owner.__module__ == "builtins":
            continue  # BaseException.add_note and the like: Python's
        if owner.__module__ == "fastsgd._sklearn_compat":
            continue  # stands in for a name this scikit-learn lacks (set_callbacks)
        attribute = vars(owner)[name]
        if not (callable(getattr(cls, name)) or isinstance(attribute, property)):
            continue
        members.append((f"{qualname}.{name}", attribute, _ours(owner, attribute)))
    return members


def _ours(owner, attribute):
    """Whether fastsgd wrote the docstring of ``attribute``, defined on ``owner``."""
    if not owner.__module__.startswith("fastsgd"):
        return False
    # scikit-learn generates set_{method}_request on every estimator class.
    return type(attribute).__name__ != "RequestMethod"


PUBLIC = _public_objects()


def test_the_public_api_is_found():
    names = {name for name, _, _ in PUBLIC}
    for name in [
        "fastsgd.MLPClassifier",
        "fastsgd.MLPClassifier.fit",
        "fastsgd.MLPClassifier.partial_fit",
        "fastsgd.MLPClassifier.predict_proba",
        "fastsgd.MLPClassifier.from_sklearn",
        "fastsgd.MLPRegressor.to_sklearn",
        "fastsgd.compare_batch_sizes",
        "fastsgd.callbacks.ProgressBar",
        "fastsgd.callbacks.ProgressBar.close",
    ]:
        assert name in names
    ours = {name for name, _, own in PUBLIC if own}
    assert "fastsgd.MLPClassifier.score" not in ours  # scikit-learn's
    assert "fastsgd.MLPClassifier.set_fit_request" not in ours  # generated


@pytest.mark.parametrize(
    "name, ours", [(name, own) for name, _, own in PUBLIC], ids=lambda v: str(v)
)
def test_numpydoc_validation(name, ours):
    result = numpydoc_validate.validate(name)
    ignored = frozenset() if ours else SKLEARN_IGNORED
    errors = [f"{code}: {text}" for code, text in result["errors"]]
    errors = [e for e in errors if e[:4] not in ignored]
    assert not errors, f"{name}:\n" + "\n".join(errors)


def _doctests():
    """The examples in every module that defines a public name, by name."""
    modules = {inspect.getmodule(obj) for _, obj, ours in PUBLIC if ours}
    modules |= {importlib.import_module(name) for name in PUBLIC_MODULES}
    finder = doctest.DocTestFinder(exclude_empty=True)
    tests = {}
    for module in modules:
        for test in finder.find(module):
            if test.examples:
                tests[test.name] = test
    return tests


DOCTESTS = _doctests()


def test_doctests_are_found():
    for name in [
        "fastsgd._mlp.MLPClassifier",
        "fastsgd._mlp.MLPRegressor",
        "fastsgd._mlp.BaseMLP.fit",
        "fastsgd.callbacks.ProgressBar",
        "fastsgd._experiment.compare.compare_batch_sizes",
        "fastsgd._show_versions.show_versions",
    ]:
        assert name in DOCTESTS


# An example's output is what a reader sees: no warning may come with it.
@pytest.mark.filterwarnings("error::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("name", sorted(DOCTESTS))
def test_docstring_examples_run(name):
    test = DOCTESTS[name]
    output = []
    runner = doctest.DocTestRunner(
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False
    )
    result = runner.run(test, out=output.append, clear_globs=True)
    assert result.failed == 0, "".join(output)
