"""scikit-learn's callback API (``set_callbacks``, ``sklearn.callback``) on the
estimators: one task per fit or partial_fit call, one sub-task per epoch, alone,
in a Pipeline and under GridSearchCV."""

import hashlib
import re
import subprocess
import sys
import textwrap
from collections import Counter

import pytest
from sklearn.datasets import load_iris
from sklearn.metrics import accuracy_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from fastsgd import MLPClassifier, MLPRegressor


@pytest.fixture
def sklearn_callback():
    """scikit-learn's callback module (scikit-learn >= 1.9)."""
    return pytest.importorskip("sklearn.callback")


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def model(**params):
    defaults = dict(
        hidden_layer_sizes=(8,),
        solver="sgd",
        batch_size=16,
        learning_rate_init=0.05,
        max_iter=4,
        n_iter_no_change=100,
        random_state=0,
    )
    return MLPClassifier(**{**defaults, **params})


class TaskRecorder:
    """A scikit-learn callback, propagated from meta-estimators to every depth,
    that records each task it sees end: (path of (estimator, task) names from the
    root, the task's context)."""

    max_propagation_depth = None

    def __init__(self, stop_after=None):
        self.ended = []
        self.stop_after = stop_after  # epoch task_id after which to ask to stop

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context):
        path = []
        task = context
        while task is not None:
            path.insert(0, (task.estimator_name, task.task_name))
            task = task.parent
        self.ended.append((tuple(path), context))
        return context.task_name == "epoch" and context.task_id == self.stop_after


def test_scoring_monitor_logs_one_row_per_epoch_with_that_epochs_weights(
    iris, sklearn_callback
):
    X, y = iris
    accuracy_after = {}

    def remember(estimator, record):
        accuracy_after[record["epoch"]] = accuracy_score(y, estimator.predict(X))

    monitor = sklearn_callback.ScoringMonitor(scoring="accuracy")
    # A watched validation set and restored best weights: the fit's final model
    # is not its last epoch's.
    clf = model(max_iter=30, n_iter_no_change=3, callbacks=[remember])
    clf.set_callbacks(monitor)
    clf.fit(X, y, X_val=X[::3], y_val=y[::3])
    assert clf.best_epoch_ < clf.n_iter_ < 30

    rows = monitor.get_logs().data
    epochs = [row for row in rows if row["task_name"] == "epoch"]
    (fit,) = [row for row in rows if row["task_name"] == "fit"]
    assert len(rows) == clf.n_iter_ + 1
    assert [row["task_id"] for row in epochs] == list(range(clf.n_iter_))
    assert all(row["parent_task_id_path"] == fit["task_id_path"] for row in epochs)
    assert [row["accuracy"] for row in epochs] == [
        accuracy_after[epoch] for epoch in range(1, clf.n_iter_ + 1)
    ]
    assert fit["accuracy"] == clf.score(X, y) == accuracy_after[clf.best_epoch_]


def test_grid_search_propagates_one_task_per_epoch_under_each_fit(
    iris, sklearn_callback
):
    X, y = iris
    recorder = TaskRecorder()
    search = GridSearchCV(model(max_iter=3), {"alpha": [1e-4, 1e-2]}, cv=2)
    search.set_callbacks(recorder).fit(X, y)

    fits = [ctx for path, ctx in recorder.ended if path[-1] == ("MLPClassifier", "fit")]
    paths = Counter(path for path, ctx in recorder.ended if ctx in fits)
    search_fit = ("GridSearchCV", "fit")
    assert paths == {
        (search_fit, ("GridSearchCV", "search"), ("MLPClassifier", "fit")): 4,
        (search_fit, ("MLPClassifier", "fit")): 1,
    }
    assert Counter(ctx.source_task_name for ctx in fits) == {
        "candidate-split-evaluation": 4,
        "refit-with-best-params": 1,
    }
    epochs = [ctx for path, ctx in recorder.ended if ctx.task_name == "epoch"]
    assert all(ctx.estimator_name == "MLPClassifier" for ctx in epochs)
    epochs_per_fit = Counter(id(ctx.parent) for ctx in epochs)
    assert epochs_per_fit == {id(fit): 3 for fit in fits}


def test_progress_bars_nest_search_fit_and_epochs(iris, capsys, sklearn_callback):
    pytest.importorskip("rich")
    X, y = iris
    search = GridSearchCV(model(max_iter=3), {"alpha": [1e-4, 1e-2]}, cv=2)
    search.set_callbacks(sklearn_callback.ProgressBar()).fit(X, y)
    out = capsys.readouterr().out
    lines = [line.strip() for line in out.splitlines() if line.strip()]
    cv_fits = [
        f"GridSearchCV - candidate-split-evaluation | MLPClassifier - fit #{i}"
        for i in range(4)
    ]
    for description in ["GridSearchCV - fit", "GridSearchCV - search #0", *cv_fits]:
        assert any(line.startswith(description) for line in lines), description
    assert re.search(r"refit-with-best-params \| MLPClassifier - fit #1", out)
    # Each fit's bar counts its epochs to the end.
    assert re.search(r"100%", out) and not re.search(r"\b[0-9]{1,2}%", out)


def test_callbacks_on_the_estimator_inside_a_pipeline(iris, sklearn_callback):
    X, y = iris
    X = X * 100 + 3  # the scaler matters
    monitor = sklearn_callback.ScoringMonitor(scoring="accuracy")
    clf = model(max_iter=5).set_callbacks(monitor)
    pipe = Pipeline([("scale", StandardScaler()), ("mlp", clf)]).fit(X, y)
    log = monitor.get_logs()
    assert log.estimator_name == "Pipeline"
    epochs = [row for row in log.data if row["task_name"] == "epoch"]
    (fit,) = [row for row in log.data if row["task_name"] == "fit"]
    assert len(epochs) == clf.n_iter_ == 5
    # The estimator was scored on the data the pipeline gave it.
    assert fit["accuracy"] == pipe.score(X, y)


def test_a_scikit_learn_callback_stops_training_after_the_epoch_it_chooses(
    iris, sklearn_callback, capsys
):
    X, y = iris
    clf = model(max_iter=20, verbose=True).set_callbacks(TaskRecorder(stop_after=2))
    clf.fit(X, y)
    assert clf.n_iter_ == len(clf.history_) == 3
    assert "Stopped after epoch 3: stopped by a scikit-learn callback" in (
        capsys.readouterr().out
    )


def test_each_partial_fit_call_is_a_task_with_one_epoch(iris, sklearn_callback):
    X, y = iris
    recorder = TaskRecorder()
    clf = model().set_callbacks(recorder)
    for _ in range(3):
        clf.partial_fit(X, y, classes=[0, 1, 2])
    paths = [path for path, _ in recorder.ended]
    call = ("MLPClassifier", "partial_fit")
    assert paths == [(call, ("MLPClassifier", "epoch")), (call,)] * 3


def test_lbfgs_fits_are_one_task(iris, sklearn_callback):
    X, y = iris
    recorder = TaskRecorder()
    model(solver="lbfgs", max_iter=5).set_callbacks(recorder).fit(X, y)
    assert [path for path, _ in recorder.ended] == [(("MLPClassifier", "fit"),)]


def test_both_kinds_of_callbacks_see_every_epoch(iris, sklearn_callback):
    X, y = iris
    seen = []
    recorder = TaskRecorder()
    clf = model(callbacks=[lambda estimator, record: seen.append(record["epoch"])])
    clf.set_callbacks(recorder).fit(X, y)
    epochs = [ctx for _, ctx in recorder.ended if ctx.task_name == "epoch"]
    assert seen == [1, 2, 3, 4] and len(epochs) == 4


def test_scikit_learn_callbacks_passed_as_callbacks_are_a_clear_error(
    iris, sklearn_callback
):
    X, y = iris
    monitor = sklearn_callback.ScoringMonitor(scoring="accuracy")
    clf = model(callbacks=[monitor])
    with pytest.raises(TypeError, match=r"ScoringMonitor .*set_callbacks"):
        clf.fit(X, y)
    assert not hasattr(clf, "coefs_")
    with pytest.raises(TypeError, match="callback\\(estimator, record\\)"):
        model(callbacks=["not callable"]).fit(X, y)


def _weights_digest(model):
    return hashlib.sha256(b"".join(w.tobytes() for w in model.coefs_)).hexdigest()


def test_without_scikit_learns_callback_api_only_set_callbacks_is_missing(iris):
    """scikit-learn < 1.9 has no sklearn.callback: set_callbacks says so, and fits
    train as before (the same weights)."""
    X, y = iris
    code = textwrap.dedent(
        """
        import hashlib
        import sys

        # scikit-learn's own modules use sklearn.callback: load them first.
        import sklearn.linear_model, sklearn.model_selection, sklearn.pipeline
        from sklearn.datasets import load_iris
        from sklearn.preprocessing import StandardScaler

        sys.modules["sklearn.callback"] = None  # fastsgd sees scikit-learn < 1.9
        from fastsgd import MLPRegressor
        from fastsgd._sklearn_compat import HAS_CALLBACK_API

        assert not HAS_CALLBACK_API
        X, y = load_iris(return_X_y=True)
        X = StandardScaler().fit_transform(X)
        reg = MLPRegressor(
            hidden_layer_sizes=(8,), solver="sgd", max_iter=4, random_state=0
        )
        assert not hasattr(reg, "set_callbacks")
        try:
            reg.set_callbacks()
        except AttributeError as error:
            print(error)
        reg.fit(X, y, X_val=X[::3], y_val=y[::3])
        print(hashlib.sha256(b"".join(w.tobytes() for w in reg.coefs_)).hexdigest())
        """
    )
    result = subprocess.run(
        [sys.executable, "-I", "-W", "ignore", "-c", code],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    message, digest = result.stdout.strip().splitlines()
    assert "scikit-learn 1.9" in message and "callbacks=[...]" in message
    here = MLPRegressor(
        hidden_layer_sizes=(8,), solver="sgd", max_iter=4, random_state=0
    )
    here.fit(X, y, X_val=X[::3], y_val=y[::3])
    assert digest == _weights_digest(here)
