"""The update rules' Python side (``fastsgd._optimizer.Optimizer``): which rule a
solver's settings choose, its named state, the step count the kernels advance,
and scikit-learn's learning-rate schedules."""

import pickle

import numpy as np
import pytest

from fastsgd import _kernels
from fastsgd._optimizer import Optimizer

SETTINGS = dict(
    learning_rate_init=0.1,
    lr_schedule="constant",
    momentum=0.9,
    nesterovs_momentum=True,
    power_t=0.5,
    beta_1=0.8,
    beta_2=0.99,
    epsilon=1e-7,
)


def _optimizer(solver="sgd", n_params=6, dtype=np.float64, **changes):
    return Optimizer(solver, n_params, dtype, **{**SETTINGS, **changes})


@pytest.mark.parametrize(
    "solver, momentum, nesterov, rule, state",
    [
        ("sgd", 0.0, True, "sgd", []),
        ("sgd", 0.9, False, "momentum", ["velocity"]),
        ("sgd", 0.9, True, "nesterov", ["velocity"]),
        ("adam", 0.9, True, "adam", ["m", "v"]),
    ],
)
def test_settings_choose_the_rule_and_its_named_state(
    solver, momentum, nesterov, rule, state
):
    opt = _optimizer(solver, momentum=momentum, nesterovs_momentum=nesterov)
    assert opt.rule == rule
    assert list(opt.state) == state
    for buffer in opt.state.values():
        assert buffer.shape == (6,) and not buffer.any()


def test_the_update_rule_names_every_setting_and_shares_the_state():
    opt = _optimizer("adam")
    opt.t = 7
    rule = opt.update_rule(alpha=0.01)
    assert rule.rule == "adam"
    assert rule.settings() == {
        "learning_rate": 0.1,  # Adam's initial rate: the kernels correct it
        "momentum": 0.9,
        "beta_1": 0.8,
        "beta_2": 0.99,
        "epsilon": 1e-7,
        "alpha": 0.01,
    }
    assert rule.step == 7
    assert rule.m is opt.state["m"] and rule.v is opt.state["v"]


def test_a_kernel_call_advances_adams_step_and_rate():
    layout = _kernels.Layout([2, 3, 1], "relu", "identity")
    opt = _optimizer("adam", n_params=layout.n_params)
    rule = opt.update_rule(alpha=0.0)
    X = np.array([[1.0, -1.0], [0.5, 2.0], [0.0, 1.0]])
    data = _kernels.TrainingData(X, Y=np.ones((3, 1)), sample_weight=np.ones(3))
    params = np.full(layout.n_params, 0.1)
    work = np.empty(layout.workspace_size(1))
    order = np.arange(3, dtype=np.intp)
    _kernels.train_epoch(
        layout, data, rule, params, np.empty_like(params), work, order, 1, 1
    )
    opt.steps_taken(rule)
    assert opt.t == 3
    corrected = 0.1 * np.sqrt(1 - 0.99**3) / (1 - 0.8**3)
    assert opt.learning_rate == pytest.approx(corrected)
    assert opt.epoch_learning_rate == 0.1
    assert opt.state["m"].any() and opt.state["v"].any()


def test_invscaling_follows_scikit_learns_schedule():
    opt = _optimizer(lr_schedule="invscaling", power_t=0.25)
    opt.iteration_ends(time_step=80)
    assert opt.learning_rate == pytest.approx(0.1 / 81**0.25)
    adam = _optimizer("adam", lr_schedule="invscaling")
    adam.iteration_ends(time_step=80)
    assert adam.learning_rate == 0.1  # schedules are sgd's only


def test_adaptive_divides_the_rate_by_five_until_it_is_too_small():
    opt = _optimizer(lr_schedule="adaptive", learning_rate_init=1e-5)
    assert opt.trigger_stopping() == (False, "learning rate set to 2e-06")
    assert opt.trigger_stopping() == (False, "learning rate set to 4e-07")
    assert opt.trigger_stopping() == (True, "learning rate too small")
    assert _optimizer().trigger_stopping() == (True, "")


def test_read_only_state_is_copied_before_training():
    opt = _optimizer()
    opt.state["velocity"].flags.writeable = False
    opt.own_writeable_state()
    assert opt.state["velocity"].flags.writeable


def test_an_optimizer_pickled_before_its_state_had_names_loads():
    opt = _optimizer("adam")
    legacy = dict(vars(opt))
    legacy["states"] = [legacy.pop("state")["m"] + 1, np.full(6, 2.0)]
    restored = Optimizer.__new__(Optimizer)
    restored.__setstate__(legacy)
    assert set(restored.state) == {"m", "v"}
    np.testing.assert_array_equal(restored.state["v"], 2.0)
    again = pickle.loads(pickle.dumps(restored))
    np.testing.assert_array_equal(again.state["m"], 1.0)
