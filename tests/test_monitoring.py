"""Training you can watch and trust: validation sets, any metric, best weights,
history, the verbose log, callbacks, Ctrl-C, class weights."""

import os
import signal
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
import sklearn
from _helpers import imbalanced_split, sgd_classifier, small_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    get_scorer,
    log_loss,
    r2_score,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from fastsgd import MLPClassifier, MLPRegressor
from fastsgd.callbacks import ProgressBar


@pytest.fixture(scope="module")
def imbalanced():
    return imbalanced_split(600, 0.15)


def model(**params):
    return sgd_classifier(**{**dict(max_iter=40, n_iter_no_change=8), **params})


def test_f1_is_monitored_and_the_f1_best_epoch_is_restored(imbalanced):
    X, X_val, y, y_val = imbalanced
    clf = model(scoring="f1").fit(X, y, X_val=X_val, y_val=y_val)
    scores = [r["valid_score"] for r in clf.history_]
    assert scores == clf.validation_scores_
    assert clf.best_validation_score_ == max(scores)
    assert clf.best_epoch_ == 1 + int(np.argmax(scores))
    # The restored model's F1 on X_val is exactly the best recorded score.
    assert f1_score(y_val, clf.predict(X_val)) == pytest.approx(
        clf.best_validation_score_, abs=1e-12
    )
    assert clf.history_[clf.best_epoch_ - 1]["is_best"]
    assert clf.n_iter_ < clf.max_iter  # it stopped early
    assert clf.best_epoch_ < len(clf.history_)


def test_loss_monitoring_restores_the_minimum_validation_loss(imbalanced):
    X, X_val, y, y_val = imbalanced
    clf = model(scoring="loss", learning_rate_init=0.2).fit(
        X, y, X_val=X_val, y_val=y_val
    )
    losses = clf.validation_loss_curve_
    assert clf.best_validation_score_ == min(losses)
    assert clf.best_epoch_ == 1 + int(np.argmin(losses))
    assert log_loss(y_val, clf.predict_proba(X_val)) == pytest.approx(
        min(losses), rel=1e-9
    )


def test_scorer_names_and_callables(imbalanced):
    X, X_val, y, y_val = imbalanced
    for scoring in ["roc_auc", "balanced_accuracy", "neg_log_loss", "f1_macro"]:
        clf = model(scoring=scoring, max_iter=3, restore_best_weights=False)
        clf.fit(X, y, X_val=X_val, y_val=y_val)
        scorer = sklearn.metrics.get_scorer(scoring)
        assert clf.validation_scores_[-1] == pytest.approx(scorer(clf, X_val, y_val))

    calls = []

    def recall_of_positives(estimator, X_, y_):
        calls.append(len(y_))
        return float(np.mean(estimator.predict(X_)[y_ == 1] == 1))

    clf = model(scoring=recall_of_positives, max_iter=4, restore_best_weights=False)
    clf.fit(X, y, X_val=X_val, y_val=y_val)
    assert calls == [len(y_val)] * 4
    assert clf.validation_scores_[-1] == recall_of_positives(clf, X_val, y_val)


def test_default_scores_are_sklearns(imbalanced):
    X, X_val, y, y_val = imbalanced
    clf = model(max_iter=3, restore_best_weights=False).fit(
        X, y, X_val=X_val, y_val=y_val
    )
    assert clf.validation_scores_[-1] == pytest.approx(clf.score(X_val, y_val))
    rng = np.random.RandomState(0)
    Xr = rng.normal(size=(200, 4))
    yr = Xr @ [1.0, -2.0, 0.5, 0.0]
    reg = MLPRegressor(
        hidden_layer_sizes=(8,), max_iter=3, restore_best_weights=False, random_state=0
    ).fit(Xr[:150], yr[:150], X_val=Xr[150:], y_val=yr[150:])
    assert reg.validation_scores_[-1] == pytest.approx(
        r2_score(yr[150:], reg.predict(Xr[150:]))
    )


def test_validation_sample_weights_weigh_the_score(imbalanced):
    X, X_val, y, y_val = imbalanced
    w = np.where(y_val == 1, 5.0, 1.0)
    clf = model(max_iter=2, restore_best_weights=False).fit(
        X, y, X_val=X_val, y_val=y_val, sample_weight_val=w
    )
    assert clf.validation_scores_[-1] == pytest.approx(
        clf.score(X_val, y_val, sample_weight=w)
    )


def test_restore_best_weights_false_keeps_the_last_epoch(imbalanced):
    X, X_val, y, y_val = imbalanced
    clf = model(scoring="f1", restore_best_weights=False).fit(
        X, y, X_val=X_val, y_val=y_val
    )
    assert f1_score(y_val, clf.predict(X_val)) == pytest.approx(
        clf.validation_scores_[-1]
    )


def test_x_val_is_monitored_without_early_stopping_and_never_split(imbalanced):
    X, X_val, y, y_val = imbalanced
    clf = model(early_stopping=False, max_iter=5, n_iter_no_change=np.inf).fit(
        X, y, X_val=X_val, y_val=y_val
    )
    assert len(clf.validation_scores_) == 5 and clf.best_loss_ is None
    # The whole training set was trained on: t_ counts every training sample.
    assert clf.t_ == 5 * len(y)


def test_internal_split_is_sklearns_and_early_stopping_uses_it(imbalanced):
    X, _, y, _ = imbalanced
    clf = model(early_stopping=True, validation_fraction=0.2).fit(X, y)
    n_val = int(np.ceil(0.2 * len(y)))
    assert clf.t_ == clf.n_iter_ * (len(y) - n_val)
    assert len(clf.validation_scores_) == clf.n_iter_


def test_bad_validation_sets_are_rejected(imbalanced):
    X, X_val, y, y_val = imbalanced
    with pytest.raises(ValueError, match="features"):
        model().fit(X, y, X_val=X_val[:, :3], y_val=y_val)
    with pytest.raises(ValueError, match="not in the training classes"):
        model().fit(X, y, X_val=X_val, y_val=np.full(len(y_val), 7))
    with pytest.raises(ValueError, match="samples"):
        model().fit(X, y, X_val=X_val, y_val=y_val[:-1])
    with pytest.raises(ValueError, match="X_val"):
        model().fit(X, y, y_val=y_val)
    with pytest.raises(ValueError, match="NaN"):
        model().fit(X, y, X_val=np.full_like(X_val, np.nan), y_val=y_val)


def test_adaptive_learning_rate_reacts_to_the_monitored_score(imbalanced):
    X, X_val, y, y_val = imbalanced
    clf = model(
        learning_rate="adaptive",
        n_iter_no_change=2,
        tol=0.05,
        max_iter=12,
        scoring="f1",
    ).fit(X, y, X_val=X_val, y_val=y_val)
    rates = [r["learning_rate"] for r in clf.history_]
    assert rates[0] == 0.05 and rates[-1] < rates[0]
    assert all(b in (a, a / 5) for a, b in zip(rates, rates[1:], strict=False))


def test_history_records(imbalanced):
    X, X_val, y, y_val = imbalanced
    clf = model(max_iter=4).fit(X, y, X_val=X_val, y_val=y_val)
    assert [r["epoch"] for r in clf.history_] == [1, 2, 3, 4]
    for record in clf.history_:
        assert set(record) == {
            "epoch",
            "train_loss",
            "valid_loss",
            "valid_score",
            "learning_rate",
            "seconds",
            "is_best",
        }
        assert record["seconds"] > 0
    assert [r["train_loss"] for r in clf.history_] == clf.loss_curve_
    assert [r["valid_loss"] for r in clf.history_] == clf.validation_loss_curve_
    plain = model(max_iter=3).fit(X, y)
    assert set(plain.history_[0]) == {
        "epoch",
        "train_loss",
        "learning_rate",
        "seconds",
        "is_best",
    }
    assert plain.best_epoch_ == 1 + int(np.argmin(plain.loss_curve_))


def test_verbose_prints_one_aligned_row_per_epoch_and_why_it_stopped(
    imbalanced, capsys
):
    X, X_val, y, y_val = imbalanced
    clf = model(scoring="f1", verbose=1).fit(X, y, X_val=X_val, y_val=y_val)
    lines = capsys.readouterr().out.strip().splitlines()
    header, rows, final = lines[0], lines[1:-1], lines[-1]
    assert header.split() == [
        "epoch",
        "train_loss",
        "valid_loss",
        "valid_f1",
        "lr",
        "seconds",
    ]
    assert len(rows) == len(clf.history_)
    assert len({len(r.rstrip(" *")) for r in rows} | {len(header)}) == 1
    starred = [int(r.split()[0]) for r in rows if "*" in r]
    assert starred == [r["epoch"] for r in clf.history_ if r["is_best"]]
    assert "did not improve" in final
    assert f"Restored the weights of epoch {clf.best_epoch_}" in final
    model(verbose=0, max_iter=2).fit(X, y)
    assert capsys.readouterr().out == ""


def test_a_callback_stops_training_at_the_epoch_it_chooses(imbalanced):
    X, _, y, _ = imbalanced
    seen = []

    def stop_at_three(estimator, record):
        seen.append((record["epoch"], estimator.n_iter_))
        return record["epoch"] == 3

    clf = model(callbacks=[stop_at_three]).fit(X, y)
    assert seen == [(1, 1), (2, 2), (3, 3)]
    assert clf.n_iter_ == 3 and len(clf.history_) == 3


def test_progress_bar_without_tqdm_writes_one_line(imbalanced, monkeypatch):
    import io

    monkeypatch.setitem(sys.modules, "tqdm", None)  # as if not installed
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    X, X_val, y, y_val = imbalanced
    out = io.StringIO()
    model(max_iter=3, callbacks=[ProgressBar(file=out)]).fit(
        X, y, X_val=X_val, y_val=y_val
    )
    text = out.getvalue()
    assert text.count("\r") == 3 and text.endswith("\n")
    assert "epoch 3/3" in text and "valid" in text


def test_progress_bar_with_tqdm(imbalanced):
    pytest.importorskip("tqdm")
    import io

    X, _, y, _ = imbalanced
    out = io.StringIO()
    model(max_iter=3, callbacks=[ProgressBar(file=out)]).fit(X, y)
    assert "3/3" in out.getvalue()


def test_progress_bar_repr_shows_no_memory_address(tmp_path):
    import io

    with open(tmp_path / "progress.log", "w") as log:
        bars = [ProgressBar(), ProgressBar(file=io.StringIO()), ProgressBar(log)]
        shown = repr(MLPClassifier(callbacks=bars))
    assert "callbacks=[ProgressBar(), ProgressBar(file=<StringIO>)," in shown
    assert f"ProgressBar(file=<{tmp_path / 'progress.log'}>)" in shown
    assert "0x" not in shown and " at " not in shown


def test_class_weight_is_folded_into_training_weights(imbalanced):
    X, X_val, y, y_val = imbalanced
    balanced = model(
        class_weight="balanced", max_iter=15, batch_size="full", learning_rate_init=0.5
    ).fit(X, y)
    explicit = model(max_iter=15, batch_size="full", learning_rate_init=0.5)
    counts = np.bincount(y)
    explicit.fit(X, y, sample_weight=(len(y) / (2 * counts))[y])
    for a, b in zip(balanced.coefs_, explicit.coefs_, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    plain = model(max_iter=15, batch_size="full", learning_rate_init=0.5).fit(X, y)
    assert (balanced.predict(X_val) == 1).sum() > (plain.predict(X_val) == 1).sum()
    with pytest.raises(ValueError, match="balanced"):
        model(class_weight="balanced").partial_fit(X, y, classes=[0, 1])


def test_partial_fit_weighs_classes_a_batch_lacks_with_a_dict(multiclass):
    """A dict names some classes; a batch may lack some of them and hold classes
    the dict leaves out (weight 1)."""
    X, y = multiclass
    rows = y < 2  # classes 0 and 1; the dict weighs 0 and 2
    weighted = model(class_weight={0: 1.0, 2: 5.0}).partial_fit(
        X[rows], y[rows], classes=[0, 1, 2]
    )
    explicit = model().partial_fit(
        X[rows], y[rows], classes=[0, 1, 2], sample_weight=np.ones(rows.sum())
    )
    for a, b in zip(weighted.coefs_, explicit.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)
    weighted.partial_fit(X, y)  # class 2 now weighs 5
    explicit.partial_fit(X, y, sample_weight=np.where(y == 2, 5.0, 1.0))
    for a, b in zip(weighted.coefs_, explicit.coefs_, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_lbfgs_checks_a_validation_set_and_says_it_is_not_used(imbalanced):
    X, X_val, y, y_val = imbalanced
    lbfgs = model(solver="lbfgs", max_iter=5)
    with pytest.raises(ValueError, match="features"):
        lbfgs.fit(X, y, X_val=X_val[:, :3], y_val=y_val)
    with pytest.warns(UserWarning, match="not used"):
        lbfgs.fit(X, y, X_val=X_val, y_val=y_val)


def test_warnings_point_at_the_callers_line(imbalanced):
    X, _, y, _ = imbalanced

    def interrupt(estimator, record):
        raise KeyboardInterrupt

    for params, category in (
        (dict(max_iter=2), ConvergenceWarning),
        (dict(batch_size=10_000), UserWarning),
        (dict(callbacks=[interrupt]), UserWarning),
    ):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model(**params).fit(X, y)
        assert caught and all(w.filename == __file__ for w in caught), [
            (w.category, w.filename) for w in caught
        ]
        assert any(issubclass(w.category, category) for w in caught)


def test_partial_fit_appends_one_epoch_per_call(imbalanced):
    X, _, y, _ = imbalanced
    clf = model()
    for _ in range(3):
        clf.partial_fit(X, y, classes=[0, 1])
    assert [r["epoch"] for r in clf.history_] == [1, 2, 3]
    assert len(clf.loss_curve_) == 3


def test_x_val_is_routed_through_a_pipeline(imbalanced):
    X, X_val, y, y_val = imbalanced
    X, X_val = X * 100 + 3, X_val * 100 + 3  # the scaler matters
    with sklearn.config_context(enable_metadata_routing=True):
        clf = model(max_iter=5, restore_best_weights=False)
        clf.set_fit_request(X_val=True, y_val=True)
        pipe = Pipeline(
            [("scale", StandardScaler()), ("mlp", clf)], transform_input=["X_val"]
        )
        pipe.fit(X, y, X_val=X_val, y_val=y_val)
    # The monitored score is the pipeline's score on X_val: X_val was scaled too.
    assert pipe[-1].validation_scores_[-1] == pytest.approx(pipe.score(X_val, y_val))


CTRL_C_SCRIPT = textwrap.dedent("""
    import sys, warnings
    import numpy as np
    from fastsgd import MLPClassifier

    rng = np.random.RandomState(0)
    X = rng.normal(size=(4000, 30)); y = (X[:, 0] + 0.5 * rng.normal(size=4000)) > 0
    best = {}

    def report(estimator, record):
        if record["is_best"]:
            best["weights"] = [c.copy() for c in estimator.coefs_]
        if record["epoch"] == 3:
            print("ready", flush=True)   # the parent sends SIGINT now
        return False

    clf = MLPClassifier((64,), solver="sgd", batch_size=1, max_iter=100000,
                        n_iter_no_change=100000, learning_rate_init=1e-3,
                        callbacks=[report], random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf.fit(X[:3000], y[:3000], X_val=X[3000:], y_val=y[3000:])
    assert any("interrupted" in str(w.message) for w in caught), caught
    assert all(np.array_equal(a, b) for a, b in zip(clf.coefs_, best["weights"]))
    print("stopped", clf.n_iter_, clf.best_epoch_, clf.score(X[3000:], y[3000:]))
""")


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process")
def test_ctrl_c_stops_after_the_epoch_and_keeps_the_best_weights(tmp_path):
    # Run from an empty folder, so the child imports the installed fastsgd.
    child = subprocess.Popen(
        [sys.executable, "-c", CTRL_C_SCRIPT],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        ready = child.stdout.readline().strip()
        if ready != "ready":
            pytest.fail(f"the child did not start training: {child.communicate()[1]}")
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=60)
    finally:
        child.kill()
    assert child.returncode == 0, err
    _, n_iter, best_epoch, score = out.split()
    assert 3 <= int(n_iter) < 100000
    assert 1 <= int(best_epoch) <= int(n_iter)
    assert float(score) > 0.5


# -- what a failed or unusual call leaves behind -----------------------------------


@pytest.mark.parametrize(
    "bad_call",
    [
        dict(X_val="narrow", y_val="ok"),
        dict(X_val="ok", y_val="short"),
        dict(X_val="ok", y_val="unseen"),
        dict(X_val="ok"),
        dict(y_val="ok"),
        dict(X_val="ok", y_val="ok", sample_weight_val="short"),
        dict(X_val="ok", y_val="ok", scoring="f1_typo"),
    ],
)
def test_a_fit_failing_on_its_validation_arguments_leaves_the_model_alone(
    imbalanced, bad_call
):
    X, X_val, y, y_val = imbalanced
    clf = model(max_iter=5).fit(X, y)
    before = [a.copy() for a in clf.coefs_ + clf.intercepts_]
    history, n_iter = list(clf.history_), clf.n_iter_
    values = {
        "X_val": {"ok": X_val, "narrow": X_val[:, :3]},
        "y_val": {"ok": y_val, "short": y_val[:-1], "unseen": np.full_like(y_val, 7)},
        "sample_weight_val": {"short": np.ones(len(y_val) - 1)},
    }
    kwargs = {k: values[k][v] for k, v in bad_call.items() if k in values}
    clf.set_params(scoring=bad_call.get("scoring"))
    with pytest.raises(ValueError):
        clf.fit(X, y, **kwargs)
    for a, b in zip(clf.coefs_ + clf.intercepts_, before, strict=True):
        np.testing.assert_array_equal(a, b)
    assert clf.history_ == history and clf.n_iter_ == n_iter


@pytest.mark.parametrize("solver", ["sgd", "lbfgs"])
def test_an_unknown_scorer_name_is_an_error_even_without_a_validation_set(
    imbalanced, solver
):
    X, _, y, _ = imbalanced
    with pytest.raises(ValueError, match="f1_typo.*not a valid scoring value"):
        model(scoring="f1_typo", solver=solver).fit(X, y)


@pytest.mark.parametrize("hold_out", [False, True])
def test_a_callable_scorer_gets_the_validation_rows_as_the_user_gave_them(
    imbalanced, hold_out
):
    pd = pytest.importorskip("pandas")
    X, X_val, y, y_val = imbalanced
    columns = [f"f{i}" for i in range(X.shape[1])]
    X, X_val = pd.DataFrame(X, columns=columns), pd.DataFrame(X_val, columns=columns)
    seen = []

    def macro_f1(estimator, X, y):
        seen.append(type(X))
        return f1_score(y, estimator.predict(X), average="macro")

    clf = model(max_iter=3, scoring=macro_f1, early_stopping=hold_out)
    fit_args = {} if hold_out else dict(X_val=X_val, y_val=y_val)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # e.g. "valid feature names"
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y, **fit_args)
    assert seen == [pd.DataFrame] * 3


def test_callable_scorers_weigh_the_validation_samples(imbalanced):
    X, X_val, y, y_val = imbalanced
    weights = np.where(y_val == 1, 5.0, 1.0)
    fit_args = dict(X_val=X_val, y_val=y_val, sample_weight_val=weights)
    by_name = model(max_iter=4, scoring="accuracy").fit(X, y, **fit_args)
    by_object = model(max_iter=4, scoring=get_scorer("accuracy")).fit(X, y, **fit_args)
    assert by_object.validation_scores_ == by_name.validation_scores_
    unweighted = [
        accuracy_score(y_val, clf.predict(X_val)) for clf in (by_name,)
    ]  # the weights change the score: the comparison above is not vacuous
    assert by_name.validation_scores_[by_name.best_epoch_ - 1] != unweighted[0]

    def plain(estimator, X, y):
        return accuracy_score(y, estimator.predict(X))

    with pytest.warns(UserWarning, match="takes no sample_weight"):
        model(max_iter=2, scoring=plain).fit(X, y, **fit_args)


def test_verbose_rows_stay_aligned_for_huge_losses(capsys):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(100, 3))
    y = 1e6 * X[:, 0]
    MLPRegressor(
        hidden_layer_sizes=(4,),
        solver="sgd",
        learning_rate_init=1e-9,
        max_iter=3,
        verbose=1,
    ).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    table = [line for line in lines if not line.startswith("Stopped")]
    assert len(table) == 4 and "e+" in table[1]
    assert len({len(line.rstrip(" *")) for line in table}) == 1


def test_progress_bar_counts_this_fits_epochs_and_partial_fit_calls(
    imbalanced, monkeypatch
):
    import io

    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    X, _, y, _ = imbalanced
    out = io.StringIO()
    bar = ProgressBar(file=out)
    clf = model(max_iter=2, warm_start=True, callbacks=[bar])
    clf.fit(X, y).fit(X, y)  # a warm start counts its own epochs
    assert out.getvalue().count("epoch 2/2") == 2 and "epoch 3" not in out.getvalue()
    out.seek(0), out.truncate()
    stream = model(callbacks=[bar])
    for _ in range(3):
        stream.partial_fit(X, y, classes=[0, 1])
    bar.close()
    assert "epoch 3/?" in out.getvalue() and out.getvalue().endswith("\n")


def test_weights_a_callback_puts_into_coefs_are_trained_on():
    """Clipping by new arrays trains exactly like clipping in place, and not like
    no clipping at all."""
    X, y = small_regression()

    def replace(estimator, record):
        if record["epoch"] == 1:
            estimator.coefs_ = [np.clip(w, -0.1, 0.1) for w in estimator.coefs_]

    def in_place(estimator, record):
        if record["epoch"] == 1:
            for w in estimator.coefs_:
                np.clip(w, -0.1, 0.1, out=w)

    def fit(callbacks):
        return MLPRegressor(
            hidden_layer_sizes=(5,), max_iter=30, random_state=0, callbacks=callbacks
        ).fit(X, y)

    plain, replaced, clipped = fit(None), fit([replace]), fit([in_place])
    for a, b in zip(replaced.coefs_, clipped.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(replaced.coefs_[0], plain.coefs_[0])
    assert replaced.score(X, y) == clipped.score(X, y)
