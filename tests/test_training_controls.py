"""Training controls (issue 14): several metrics an epoch, ``learning_rate="plateau"``,
early stopping under ``partial_fit`` and ``fastsgd.callbacks.Checkpoint``."""

import joblib
import numpy as np
import pytest
from _helpers import imbalanced_split, sgd_classifier
from sklearn.base import clone
from sklearn.metrics import get_scorer

from fastsgd import MLPRegressor, _network
from fastsgd.callbacks import Checkpoint


@pytest.fixture(scope="module")
def data():
    return imbalanced_split(500, 0.2)


model = sgd_classifier


# -- several metrics ------------------------------------------------------------------

METRICS = ["f1", "roc_auc", "balanced_accuracy", "neg_log_loss"]


def test_each_metric_is_the_scorer_on_that_epochs_model(data):
    X, X_val, y, y_val = data
    separately = []

    def score_each(est, record):
        separately.append({m: get_scorer(m)(est, X_val, y_val) for m in METRICS})

    clf = model(scoring=METRICS, callbacks=[score_each]).fit(
        X, y, X_val=X_val, y_val=y_val
    )
    assert len(separately) == len(clf.history_) > 5
    for record, expected in zip(clf.history_, separately, strict=True):
        for name in METRICS:
            assert record[f"valid_{name}"] == pytest.approx(expected[name], rel=1e-12)
        assert record["valid_score"] == record["valid_f1"]
    # the first metric drives the best epoch, and the restored model is that epoch's
    assert clf.validation_scores_ == [r["valid_f1"] for r in clf.history_]
    best = clf.history_[clf.best_epoch_ - 1]
    assert best["valid_f1"] == max(r["valid_f1"] for r in clf.history_)
    for name in METRICS:
        assert get_scorer(name)(clf, X_val, y_val) == pytest.approx(
            best[f"valid_{name}"], rel=1e-12
        )


def test_a_dict_of_scorers_with_callables_and_loss_first(data):
    X, X_val, y, y_val = data
    recalls = []

    def recall_of_1(est, X, y):
        return float(np.mean(est.predict(X[y == 1]) == 1))

    def record_recall(est, record):
        recalls.append(recall_of_1(est, X_val, y_val))

    clf = model(
        scoring={"loss": "loss", "recall1": recall_of_1, "acc": "accuracy"},
        callbacks=[record_recall],
    ).fit(X, y, X_val=X_val, y_val=y_val)
    assert [r["valid_recall1"] for r in clf.history_] == recalls
    assert "valid_acc" in clf.history_[0]
    losses = [r["valid_loss"] for r in clf.history_]
    assert [r["valid_score"] for r in clf.history_] == losses
    assert clf.best_validation_score_ == min(losses)


def test_all_metrics_come_from_one_forward_pass_per_epoch(data, monkeypatch):
    X, X_val, y, y_val = data
    calls = []
    forward = _network.forward

    def counted(layout, params, data, *args, **kwargs):
        calls.append(data.n_rows)
        return forward(layout, params, data, *args, **kwargs)

    monkeypatch.setattr("fastsgd._monitor._network.forward", counted)
    clf = model(scoring=METRICS, max_iter=6, n_iter_no_change=100)
    clf.fit(X, y, X_val=X_val, y_val=y_val)
    assert calls.count(X_val.shape[0]) == 6


def test_the_verbose_table_has_a_column_per_metric_read_from_history(data, capsys):
    X, X_val, y, y_val = data
    clf = model(scoring=["f1", "roc_auc"], max_iter=4, verbose=1)
    clf.fit(X, y, X_val=X_val, y_val=y_val)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "epoch", "train_loss", "valid_loss", "valid_f1", "valid_roc_auc", "lr",
        "seconds",
    ]  # fmt: skip
    for line, record in zip(lines[1:5], clf.history_, strict=True):
        cells = line.replace("*", "").split()
        assert float(cells[3]) == pytest.approx(record["valid_f1"], abs=1e-6)
        assert float(cells[4]) == pytest.approx(record["valid_roc_auc"], abs=1e-6)
        # the best-mark goes on the watched (first) metric's column only
        assert ("*" in line) == record["is_best"]
        assert line.index("*") < line.index(cells[4]) if "*" in line else True


def test_several_metrics_for_the_regressor():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 4))
    y = X[:, 0] - 2 * X[:, 1] + 0.1 * rng.normal(size=200)
    reg = MLPRegressor(
        hidden_layer_sizes=(8,),
        solver="sgd",
        learning_rate_init=0.01,
        max_iter=10,
        random_state=0,
        scoring=["neg_mean_absolute_error", "r2"],
    ).fit(X[:150], y[:150], X_val=X[150:], y_val=y[150:])
    record = reg.history_[reg.best_epoch_ - 1]
    assert record["valid_score"] == record["valid_neg_mean_absolute_error"]
    assert get_scorer("r2")(reg, X[150:], y[150:]) == pytest.approx(
        record["valid_r2"], rel=1e-12
    )


@pytest.mark.parametrize(
    "scoring, error, match",
    [
        ([], ValueError, "empty"),
        ({}, ValueError, "empty"),
        (["f1", "f1"], ValueError, r"\['f1'\] more than once"),
        (["f1", "no_such_metric"], ValueError, "no_such_metric"),
        ({"a": "no_such_metric"}, ValueError, r"scoring\['a'\]"),
        ({"a": 3}, TypeError, "scorer name or a callable"),
        (["f1", len], TypeError, "Use a dict for callables"),
        ({"score": "f1"}, ValueError, "valid_score column"),
        ({"loss": "f1"}, ValueError, "valid_loss column"),
    ],
)
def test_bad_scoring_lists_and_dicts_are_rejected_before_training(
    data, scoring, error, match, monkeypatch
):
    X, X_val, y, y_val = data

    def no_training(*args, **kwargs):
        raise AssertionError("trained")

    monkeypatch.setattr("fastsgd._mlp.EpochLoop", no_training)
    with pytest.raises(error, match=match):
        model(scoring=scoring).fit(X, y)  # even without a validation set


# -- learning_rate="plateau" ----------------------------------------------------------


def sklearns_adaptive_rule(values, lr, tol, greater_is_better):
    """scikit-learn's ``_update_no_improvement_count`` and ``trigger_stopping`` for
    ``learning_rate="adaptive"``, transcribed, with the patience its documentation
    states ("each time two consecutive epochs fail to ...": ``n_iter_no_change=1``
    in its code). Returns the rate of each epoch and the epoch it stops after."""
    sign = 1 if greater_is_better else -1
    best, count, rates = -np.inf, 0, []
    for epoch, value in enumerate(values, 1):
        rates.append(lr)
        if sign * value < best + tol:
            count += 1
        else:
            count = 0
        best = max(best, sign * value)
        if count > 1:
            if lr <= 1e-6:
                return rates, epoch
            lr /= 5.0
            count = 0
    return rates, None


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("watch", ["validation", "training loss"])
def test_plateau_drops_as_sklearns_adaptive_rule_does(data, solver, watch):
    X, X_val, y, y_val = data
    clf = model(
        solver=solver,
        learning_rate="plateau",
        learning_rate_init=0.05 if solver == "sgd" else 0.01,
        tol=1e-3,
        n_iter_no_change=np.inf,
        max_iter=40,
    )
    if watch == "validation":
        clf.fit(X, y, X_val=X_val, y_val=y_val)
        values, greater = [r["valid_score"] for r in clf.history_], True
    else:
        clf.fit(X, y)
        values, greater = [r["train_loss"] for r in clf.history_], False
    rates, stop = sklearns_adaptive_rule(values, clf.learning_rate_init, 1e-3, greater)
    assert [r["learning_rate"] for r in clf.history_] == pytest.approx(rates)
    drops = [r["epoch"] for r in clf.history_ if r["lr_dropped"]]
    assert drops, "the test should see a drop"
    for epoch in drops:  # the rate of the epoch after a drop is a fifth
        assert rates[epoch] == pytest.approx(rates[epoch - 1] / 5)
    assert len(clf.history_) == (stop or 40)


def test_plateau_stops_once_the_rate_is_below_1e_6(data, capsys):
    X, X_val, y, y_val = data

    def flat(est, X, y):
        return 0.5  # never improves after the first epoch

    clf = model(
        learning_rate="plateau",
        learning_rate_init=1e-5,
        scoring=flat,
        n_iter_no_change=np.inf,
        verbose=1,
    ).fit(X, y, X_val=X_val, y_val=y_val)
    rates, stop = sklearns_adaptive_rule([0.5] * 30, 1e-5, clf.tol, True)
    assert stop == 7
    assert [r["learning_rate"] for r in clf.history_] == pytest.approx(rates)
    assert [r["lr_dropped"] for r in clf.history_] == [
        False, False, True, False, True, False, False,
    ]  # fmt: skip
    out = capsys.readouterr().out
    assert out.count("plateau: valid_flat did not improve") == 2
    assert "learning rate 1e-05 -> 2e-06" in out
    assert "Stopped after epoch 7: valid_flat did not improve" in out
    assert "learning rate at 4e-07 (1e-6 or less)" in out
    assert clf.stop_training_


def test_plateau_under_adam_divides_the_rate_adams_step_uses(data):
    X, X_val, y, y_val = data

    def flat(est, X, y):
        return 0.5

    clf = model(
        solver="adam",
        learning_rate="plateau",
        learning_rate_init=0.01,
        beta_1=0.9,
        beta_2=0.999,
        scoring=flat,
        n_iter_no_change=np.inf,
        max_iter=4,
    ).fit(X, y, X_val=X_val, y_val=y_val)
    opt = clf._optimizer
    assert [r["learning_rate"] for r in clf.history_] == [0.01] * 3 + [0.002]
    assert opt.learning_rate_init == pytest.approx(0.002)
    # Adam's last step (epoch 4) took the bias-corrected rate of the divided one.
    t = opt.t
    assert opt.learning_rate == pytest.approx(
        0.002 * np.sqrt(1 - 0.999**t) / (1 - 0.9**t)
    )
    assert clf.learning_rate_init == 0.01  # the parameter is left alone


def test_plateau_and_patience_both_stop_and_early_stopping_still_wins(data):
    X, X_val, y, y_val = data

    def flat(est, X, y):
        return 0.5

    clf = model(
        learning_rate="plateau", scoring=flat, n_iter_no_change=3, max_iter=50
    ).fit(X, y, X_val=X_val, y_val=y_val)
    # patience: more than 3 epochs without improvement after epoch 1
    assert len(clf.history_) == 5
    assert [r["lr_dropped"] for r in clf.history_] == [
        False, False, True, False, True,
    ]  # fmt: skip


def test_plateau_for_the_regressor_and_in_to_sklearn():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 4))
    y = X[:, 0] - 2 * X[:, 1] + 0.1 * rng.normal(size=200)
    reg = MLPRegressor(
        hidden_layer_sizes=(8,),
        solver="sgd",
        learning_rate="plateau",
        learning_rate_init=0.01,
        tol=1e-2,
        n_iter_no_change=np.inf,
        max_iter=30,
        random_state=0,
    ).fit(X, y)
    values = [r["train_loss"] for r in reg.history_]
    rates, _ = sklearns_adaptive_rule(values, 0.01, 1e-2, False)
    assert [r["learning_rate"] for r in reg.history_] == pytest.approx(rates)
    sk = reg.to_sklearn()
    assert sk.learning_rate == "constant"
    np.testing.assert_allclose(sk.predict(X), reg.predict(X))


# -- Checkpoint -----------------------------------------------------------------------


def test_the_checkpoint_holds_the_best_model_and_warm_start_resumes_from_it(
    data, tmp_path
):
    X, X_val, y, y_val = data
    path = tmp_path / "best.joblib"
    saves = []
    checkpoint = Checkpoint(path)

    def watch_saves(est, record):  # after the checkpoint, in the same list
        if record["is_best"]:
            saves.append(record["epoch"])

    clf = model(scoring="f1", callbacks=[checkpoint, watch_saves]).fit(
        X, y, X_val=X_val, y_val=y_val
    )
    assert len(clf.history_) > clf.best_epoch_  # it went past the best epoch
    assert saves[-1] == checkpoint.saved_epoch_ == clf.best_epoch_
    best = joblib.load(path)
    np.testing.assert_array_equal(best.predict_proba(X_val), clf.predict_proba(X_val))
    best_epoch = clf.best_epoch_
    assert len(best.history_) == best_epoch
    # warm_start goes on from the saved model: the same as going on from the
    # restored model in memory.
    more = dict(warm_start=True, max_iter=3, n_iter_no_change=100, callbacks=None)
    resumed = best.set_params(**more).fit(X, y, X_val=X_val, y_val=y_val)
    again = clf.set_params(**more).fit(X, y, X_val=X_val, y_val=y_val)
    assert resumed.n_iter_ == again.n_iter_ == 3
    assert resumed.history_[-1]["epoch"] == best_epoch + 3
    for a, b in zip(resumed.coefs_, again.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)


def test_the_checkpoint_file_after_a_regressor_fit(tmp_path):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 4))
    y = X[:, 0] - 2 * X[:, 1] + 0.1 * rng.normal(size=200)
    path = tmp_path / "reg.joblib"
    reg = MLPRegressor(
        hidden_layer_sizes=(8,),
        solver="sgd",
        learning_rate_init=0.01,
        max_iter=15,
        random_state=0,
        callbacks=[Checkpoint(path)],
    ).fit(X[:150], y[:150], X_val=X[150:], y_val=y[150:])
    np.testing.assert_array_equal(joblib.load(path).predict(X), reg.predict(X))


def test_a_failed_write_leaves_the_previous_checkpoint_intact(
    data, tmp_path, monkeypatch
):
    X, X_val, y, y_val = data
    path = tmp_path / "best.joblib"
    checkpoint = Checkpoint(path)
    clf = model(max_iter=2, callbacks=[checkpoint]).fit(X, y, X_val=X_val, y_val=y_val)
    before = path.read_bytes()
    real_dump = joblib.dump

    def dump_then_fail(value, file, *args, **kwargs):
        real_dump(value, file, *args, **kwargs)  # a whole (new) model is written...
        file.truncate(10)  # ...then cut short, as by a full disk
        raise OSError("No space left on device")

    monkeypatch.setattr("fastsgd.callbacks.joblib.dump", dump_then_fail)
    with pytest.raises(OSError, match="No space left"):
        clf.set_params(warm_start=True).fit(X, y, X_val=X_val, y_val=y_val)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.joblib"]
    joblib.load(path).predict(X_val)


def test_checkpoint_repr_and_clone(tmp_path):
    checkpoint = Checkpoint("models/best.joblib")
    assert repr(checkpoint) == "Checkpoint('models/best.joblib')"
    clf = model(callbacks=[checkpoint])
    assert "Checkpoint('models/best.joblib')" in repr(clf)
    assert repr(clone(clf).callbacks[0]) == repr(checkpoint)


# -- early stopping under partial_fit -------------------------------------------------


def patience_rule(values, tol, n_iter_no_change):
    """The 1-based call after which scikit-learn's no-improvement rule stops."""
    best, count = -np.inf, 0
    for call, value in enumerate(values, 1):
        count = count + 1 if value < best + tol else 0
        best = max(best, value)
        if count > n_iter_no_change:
            return call
    return None


def test_partial_fit_with_a_validation_set_tracks_the_best_call_and_stops(
    data, tmp_path
):
    X, X_val, y, y_val = data
    path = tmp_path / "stream.joblib"
    clf = model(scoring=["f1", "accuracy"], n_iter_no_change=3,
                callbacks=[Checkpoint(path)])  # fmt: skip
    chunks = np.array_split(np.arange(len(y)), 7)
    outputs, flags = [], []
    for call in range(70):
        rows = chunks[call % 7]
        clf.partial_fit(X[rows], y[rows], classes=[0, 1], X_val=X_val, y_val=y_val)
        outputs.append(clf.predict_proba(X_val))
        flags.append(clf.stop_training_)
        if clf.stop_training_:
            break
    scores = [r["valid_score"] for r in clf.history_]
    assert len(scores) == len(flags)
    for record, proba in zip(clf.history_, outputs, strict=True):
        predicted = clf.classes_[proba.argmax(axis=1)]
        assert record["valid_f1"] == get_scorer("f1")._score_func(y_val, predicted)
        assert record["valid_score"] == record["valid_f1"]
        assert "valid_accuracy" in record
    stop = patience_rule(scores, clf.tol, 3)
    assert stop is not None and flags == [False] * (stop - 1) + [True]
    best = int(np.argmax(scores)) + 1
    assert clf.best_epoch_ == best
    # partial_fit keeps the last call's weights until asked
    np.testing.assert_array_equal(clf.predict_proba(X_val), outputs[-1])
    assert clf.restore_best_epoch() is clf
    np.testing.assert_array_equal(clf.predict_proba(X_val), outputs[best - 1])
    np.testing.assert_array_equal(
        joblib.load(path).predict_proba(X_val), outputs[best - 1]
    )


def test_partial_fit_with_a_validation_set_for_the_regressor():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 4))
    y = X[:, 0] - 2 * X[:, 1] + 0.1 * rng.normal(size=300)
    reg = MLPRegressor(hidden_layer_sizes=(8,), solver="sgd",
                       learning_rate_init=0.01, random_state=0)  # fmt: skip
    outputs = []
    for chunk in np.array_split(np.arange(200), 5) * 2:
        reg.partial_fit(X[chunk], y[chunk], X_val=X[200:], y_val=y[200:])
        outputs.append(reg.predict(X[200:]))
    assert len(reg.history_) == 10
    r2 = [r["valid_score"] for r in reg.history_]
    assert r2 == pytest.approx(
        [get_scorer("r2")._score_func(y[200:], out) for out in outputs], rel=1e-12
    )
    assert reg.best_epoch_ == int(np.argmax(r2)) + 1
    reg.restore_best_epoch()
    np.testing.assert_array_equal(reg.predict(X[200:]), outputs[reg.best_epoch_ - 1])


def test_restore_best_epoch_needs_a_watched_validation_set(data):
    X, X_val, y, y_val = data
    clf = model().partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="No best weights to restore"):
        clf.restore_best_epoch()
    with pytest.raises(ValueError, match="X_val needs y_val"):
        clf.partial_fit(X, y, X_val=X_val)


def test_fit_sets_stop_training_only_on_a_stopping_rule(data):
    X, X_val, y, y_val = data
    assert model(max_iter=3).fit(X, y, X_val=X_val, y_val=y_val).stop_training_ is False
    stopped = model(n_iter_no_change=1).fit(X, y, X_val=X_val, y_val=y_val)
    assert len(stopped.history_) < 30 and stopped.stop_training_ is True
