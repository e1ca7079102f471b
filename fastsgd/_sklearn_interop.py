"""Moving fitted models between fastsgd and scikit-learn: ``to_sklearn`` and
``from_sklearn``, with the weights, the early-stopping bookkeeping and the
optimizer's state, so that either side's ``partial_fit`` or warm start goes on
where the other stopped."""

import copy

import numpy as np
from sklearn.utils.validation import check_is_fitted

from fastsgd import _parameters
from fastsgd._optimizer import Optimizer
from fastsgd._sklearn_compat import AdamOptimizer, SGDOptimizer

# Attributes a fitted model carries over to and from scikit-learn's MLP.
_SHARED_ATTRIBUTES = (
    "n_iter_",
    "t_",
    "loss_",
    "loss_curve_",
    "best_loss_",
    "validation_scores_",
    "best_validation_score_",
    "n_layers_",
    "n_outputs_",
    "out_activation_",
    "n_features_in_",
    "feature_names_in_",
    "classes_",
    "_label_binarizer",
)


def to_sklearn(model):
    """A fitted scikit-learn MLP with ``model``'s weights, bookkeeping and optimizer
    state (``model.to_sklearn()``)."""
    check_is_fitted(model)
    params = model._flat_params()
    sk_params = model._sklearn_class().get_params()
    # Copies, as clone makes them: a RandomState must not be shared.
    kwargs = {
        k: copy.deepcopy(v) for k, v in model.get_params().items() if k in sk_params
    }
    if kwargs["batch_size"] == "full":
        kwargs["batch_size"] = "auto"
    if kwargs["learning_rate"] == "plateau":
        kwargs["learning_rate"] = "constant"  # at the rate it reached
    estimator = model._sklearn_class(**kwargs)
    for name in _SHARED_ATTRIBUTES:
        if hasattr(model, name):
            # A copy: the curves are lists that each model's next fit extends.
            setattr(estimator, name, copy.deepcopy(getattr(model, name)))
    layout = model._layout()
    estimator.coefs_, estimator.intercepts_ = _parameters.param_views(
        layout, params.copy()
    )
    # What scikit-learn's warm-started fit reads to go on with early stopping.
    estimator._no_improvement_count = getattr(model, "_no_improvement_count", 0)
    estimator._best_coefs, estimator._best_intercepts = _parameters.param_views(
        layout, model._best_params.copy()
    )
    sklearns_watch = model._sklearns_watch() if model.early_stopping else None
    if getattr(model, "_monitoring", None) != sklearns_watch:
        # Another metric or set was watched: scikit-learn starts its own afresh.
        estimator._no_improvement_count = 0
        if model.early_stopping:
            estimator.best_loss_ = None
            estimator.validation_scores_ = []
            estimator.best_validation_score_ = -np.inf
        else:
            estimator.best_loss_ = min(
                getattr(model, "loss_curve_", ()), default=np.inf
            )
            estimator.validation_scores_ = None
            estimator.best_validation_score_ = None
    # partial_fit goes on with the optimizer's state, as this model's would.
    if getattr(model, "_optimizer", None) is not None:
        estimator._optimizer = optimizer_to_sklearn(model._optimizer, layout)
    return estimator


def from_sklearn(cls, estimator):
    """A fastsgd model of class ``cls`` with the parameters, weights and optimizer
    state of the fitted scikit-learn MLP ``estimator`` (``cls.from_sklearn``)."""
    if not isinstance(estimator, cls._sklearn_class):
        raise TypeError(
            f"{cls.__name__}.from_sklearn needs a fitted "
            f"{cls._sklearn_class.__name__}, got {type(estimator).__name__}"
        )
    check_is_fitted(estimator)
    own = cls().get_params()
    model = cls(
        **{k: copy.deepcopy(v) for k, v in estimator.get_params().items() if k in own}
    )
    for name in _SHARED_ATTRIBUTES:
        if hasattr(estimator, name):
            setattr(model, name, copy.deepcopy(getattr(estimator, name)))
    model._layer_units = [
        estimator.coefs_[0].shape[0],
        *(c.shape[1] for c in estimator.coefs_),
    ]
    n_outputs = estimator.coefs_[-1].shape[1]
    if n_outputs != estimator.n_outputs_:
        raise ValueError(
            f"The estimator's output layer has {n_outputs} units but its "
            f"n_outputs_ is {estimator.n_outputs_}."
        )
    weights = estimator.coefs_ + estimator.intercepts_
    # The kernels compute in float32 or float64.
    float32 = all(np.asarray(w).dtype == np.float32 for w in weights)
    dtype = np.float32 if float32 else np.float64
    params = _parameters.pack(
        model._layout(), estimator.coefs_, estimator.intercepts_, dtype
    )
    model._set_params_buffer(params, model._layout())
    model._best_params = params.copy()
    model.history_ = []
    model.validation_loss_curve_ = []
    model.best_epoch_ = None
    # A warm start goes on with scikit-learn's early-stopping bookkeeping.
    model._monitoring = None
    if getattr(estimator, "validation_scores_", None) is not None:
        model._monitoring = model._sklearns_watch()
    model._no_improvement_count = getattr(estimator, "_no_improvement_count", 0)
    if getattr(estimator, "_optimizer", None) is not None:
        model._optimizer = optimizer_from_sklearn(
            estimator._optimizer, model._layout(), dtype
        )
    return model


def optimizer_to_sklearn(optimizer, layout):
    """scikit-learn's optimizer in the state of fastsgd's ``optimizer`` (copied),
    for a model exported with ``to_sklearn`` to go on with ``partial_fit``."""

    def per_parameter(state):  # scikit-learn's order: coefs_ + intercepts_
        coefs, intercepts = _parameters.param_views(layout, state.copy())
        return coefs + intercepts

    if optimizer.rule == "adam":
        sklearns = AdamOptimizer(
            [],
            optimizer.learning_rate_init,
            optimizer.beta_1,
            optimizer.beta_2,
            optimizer.epsilon,
        )
        sklearns.ms, sklearns.vs = (
            per_parameter(optimizer.state[name]) for name in ("m", "v")
        )
        sklearns.t = optimizer.t
    else:
        sklearns = SGDOptimizer(
            [],
            optimizer.learning_rate_init,
            "constant" if optimizer.lr_schedule == "plateau" else optimizer.lr_schedule,
            optimizer.momentum,
            optimizer.rule == "nesterov",
            optimizer.power_t,
        )
        # Without momentum no velocity carries over: zeros are as good.
        velocities = optimizer.state.get("velocity", np.zeros(layout.n_params))
        sklearns.velocities = per_parameter(velocities)
    sklearns.learning_rate = optimizer.learning_rate
    return sklearns


def optimizer_from_sklearn(optimizer, layout, dtype):
    """fastsgd's optimizer in the state of scikit-learn's ``optimizer``."""
    adam = isinstance(optimizer, AdamOptimizer)
    ours = Optimizer(
        "adam" if adam else "sgd",
        layout.n_params,
        dtype,
        learning_rate_init=optimizer.learning_rate_init,
        lr_schedule=getattr(optimizer, "lr_schedule", "constant"),
        momentum=getattr(optimizer, "momentum", 0.0),
        nesterovs_momentum=getattr(optimizer, "nesterov", False),
        power_t=getattr(optimizer, "power_t", 0.5),
        beta_1=getattr(optimizer, "beta_1", 0.9),
        beta_2=getattr(optimizer, "beta_2", 0.999),
        epsilon=getattr(optimizer, "epsilon", 1e-8),
    )
    n_layers = len(layout.coef_offsets)
    given = [optimizer.ms, optimizer.vs] if adam else [optimizer.velocities]
    for state, arrays in zip(ours.state.values(), given, strict=False):
        state[:] = _parameters.pack(layout, arrays[:n_layers], arrays[n_layers:], dtype)
    ours.t = getattr(optimizer, "t", 0)
    ours.learning_rate = float(optimizer.learning_rate)
    return ours
