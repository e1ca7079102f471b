"""Early stopping (``fastsgd._early_stopping``) against scikit-learn's
``_update_no_improvement_count``, and the fit state's snapshot and rollback."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fastsgd._early_stopping import NOT_STARTED, EarlyStopping
from fastsgd._fit_state import FitState
from fastsgd._optimizer import Optimizer


def _state(**values):
    optimizer = Optimizer(
        "sgd",
        4,
        np.float64,
        learning_rate_init=0.1,
        lr_schedule="constant",
        momentum=0.9,
        nesterovs_momentum=True,
        power_t=0.5,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
    )
    values = {
        "n_iter_": 0,
        "t_": 0,
        "best_epoch_": None,
        "monitoring": NOT_STARTED,
        "loss_curve_": [],
        "validation_loss_curve_": [],
        "history_": [],
        **values,
    }
    return FitState(np.zeros(4), np.zeros(4), optimizer, **values)


def _sklearns_rule(values, tol, on_validation):
    """scikit-learn's ``_update_no_improvement_count``, transcribed: the count and
    the best value after each of ``values`` (scores when ``on_validation``, else
    training losses)."""
    count, best, out = 0, (-np.inf if on_validation else np.inf), []
    for value in values:
        if on_validation:
            count = count + 1 if value < best + tol else 0
            best = max(best, value) if value > best else best
        else:
            count = count + 1 if value > best - tol else 0
            best = value if value < best else best
        out.append((count, best))
    return out


values = st.lists(
    st.one_of(st.floats(-10, 10, allow_nan=False), st.just(math.nan), st.just(0.5)),
    max_size=30,
)


@given(values, st.sampled_from([0.0, 1e-4, 0.5]), st.booleans())
def test_the_count_and_the_best_value_follow_scikit_learn(values, tol, on_validation):
    stopping = EarlyStopping("accuracy" if on_validation else None, True, tol, 3)
    if not on_validation:
        stopping.greater_is_better = False  # a loss
    state = _state()
    stopping.start(state)
    for epoch, (value, (count, best)) in enumerate(
        zip(values, _sklearns_rule(values, tol, on_validation), strict=True), 1
    ):
        stopping.update(state, value, epoch)
        assert state.no_improvement_count == count
        watched = state.best_validation_score_ if on_validation else state.best_loss_
        assert watched == best
        assert stopping.stalled(state) == (count > 3)


def test_a_lower_is_better_watch_keeps_the_lowest_and_its_epoch():
    stopping = EarlyStopping("loss", False, 0.0, 2)
    state = _state()
    stopping.start(state)
    assert state.best_validation_score_ == np.inf
    assert [stopping.update(state, v, e) for e, v in enumerate([3, 2, 2.5, 1], 1)] == [
        True,
        True,
        False,
        True,
    ]
    assert state.best_epoch_ == 4 and state.best_validation_score_ == 1
    assert stopping.watched == "valid_loss"
    assert "valid_loss did not improve by more than tol=0" in (
        stopping.stalled_message()
    )


def test_the_bookkeeping_restarts_only_when_the_watch_changes():
    state = _state()
    f1 = EarlyStopping("f1", True, 0.0, 2)
    f1.start(state)
    f1.update(state, 0.5, 1)
    f1.update(state, 0.4, 2)
    f1.start(state)  # the same watch: partial_fit goes on
    assert state.no_improvement_count == 1 and state.best_validation_score_ == 0.5
    EarlyStopping(None, False, 0.0, 2).start(state)  # now the training loss
    assert state.no_improvement_count == 0
    assert state.best_loss_ == np.inf and state.validation_scores_ is None


def test_rollback_returns_weights_state_counters_and_curves():
    state = _state(loss_curve_=[1.0], history_=[{"epoch": 1}], n_iter_=1, t_=10)
    state.params[:] = 1.0
    state.optimizer.state["velocity"][:] = 2.0
    state.optimizer.t, state.optimizer.learning_rate = 3, 0.1
    state.best_params[:] = 5.0
    state.snapshot()
    state.params[:] = np.nan
    state.optimizer.state["velocity"][:] = np.nan
    state.optimizer.t, state.optimizer.learning_rate = 9, 0.02
    state.n_iter_, state.t_ = 2, 20
    state.loss_curve_.append(np.nan)
    state.history_.append({"epoch": 2})
    state.save_best_weights()
    state.best_params[:] = np.nan
    state.rollback()
    np.testing.assert_array_equal(state.params, 1.0)
    np.testing.assert_array_equal(state.optimizer.state["velocity"], 2.0)
    np.testing.assert_array_equal(state.best_params, 5.0)
    assert (state.optimizer.t, state.optimizer.learning_rate) == (3, 0.1)
    assert (state.n_iter_, state.t_) == (1, 10)
    assert state.loss_curve_ == [1.0] and state.history_ == [{"epoch": 1}]


@pytest.mark.parametrize("early_stopping", [False, True])
def test_the_estimator_publishes_the_fit_state(early_stopping):
    from fastsgd import MLPClassifier

    X = np.random.RandomState(0).normal(size=(40, 3))
    y = (X[:, 0] > 0).astype(int)
    seen = []
    model = MLPClassifier(
        (4,),
        max_iter=3,
        early_stopping=early_stopping,
        random_state=0,
        callbacks=[lambda est, record: seen.append((est.n_iter_, len(est.history_)))],
    )
    with pytest.warns(Warning):
        model.fit(X, y)
    assert seen == [(1, 1), (2, 2), (3, 3)]
    assert model.n_iter_ == 3 and model.t_ == 3 * (40 - 4 * early_stopping)
    assert len(model.loss_curve_) == 3
