"""MLPClassifier and MLPRegressor: scikit-learn's MLP, trained by compiled kernels.

Parameters, defaults, fitted attributes, random draws and update rules are
scikit-learn's, so that swapping the import changes nothing but speed; what
scikit-learn's MLP lacks (a validation set of your own, any metric for early
stopping, history, verbose rows, callbacks, class weights, ``batch_size="full"``)
is added on top.
"""

import warnings
from contextlib import contextmanager
from numbers import Integral

import numpy as np
import scipy.optimize
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, is_classifier
from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier
from sklearn.neural_network import MLPRegressor as SklearnMLPRegressor
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state, column_or_1d
from sklearn.utils.class_weight import compute_class_weight, compute_sample_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target, unique_labels
from sklearn.utils.validation import check_is_fitted, validate_data

from fastsgd import _kernels, _network, _parameters, _sklearn_interop
from fastsgd._early_stopping import EarlyStopping
from fastsgd._epoch_loop import EpochLoop, FitTasks, TrainingSet
from fastsgd._fit_state import FitState
from fastsgd._kernels import TrainingData
from fastsgd._monitor import Monitor, check_scoring_param, hold_out, validation_set
from fastsgd._optimizer import Optimizer
from fastsgd._sklearn_compat import (
    CallbackSupportMixin,
    Interval,
    StrOptions,
    _check_optimize_result,
    _check_partial_fit_first_call,
    callback_management_context,
)
from fastsgd._validation import (
    as_kernel_array,
    check_poisson_targets,
    check_sparse_structure,
    check_training_weights,
)
from fastsgd._version import __version__


class InconsistentVersionWarning(UserWarning):
    """Warning given when a model pickled by another fastsgd version is loaded.

    Like scikit-learn's ``InconsistentVersionWarning``: the model may not load
    or predict as it did. Refit it, or load it with the version that saved it.

    Parameters
    ----------
    estimator_name : str
        The class of the loaded model.
    current_fastsgd_version : str
        The version loading it.
    original_fastsgd_version : str
        The version that pickled it (``"unknown"`` for pickles that do not
        record one).
    """

    def __init__(
        self, *, estimator_name, current_fastsgd_version, original_fastsgd_version
    ):
        self.estimator_name = estimator_name
        self.current_fastsgd_version = current_fastsgd_version
        self.original_fastsgd_version = original_fastsgd_version

    def __str__(self):
        return (
            f"Trying to unpickle {self.estimator_name} from fastsgd version "
            f"{self.original_fastsgd_version} when using version "
            f"{self.current_fastsgd_version}. This might lead to breaking code or "
            "invalid results: refit the model, or load it with the fastsgd "
            "version that saved it."
        )


class BaseMLP(CallbackSupportMixin, BaseEstimator):
    """What MLPClassifier and MLPRegressor share. Not for direct use."""

    _parameter_constraints: dict = {
        **SklearnMLPRegressor._parameter_constraints,
        "batch_size": [
            StrOptions({"auto", "full"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "scoring": [None, str, callable],
        "restore_best_weights": ["boolean"],
        "callbacks": [None, list, tuple],
    }
    _parameter_constraints.pop("loss")
    _sklearn_class = None  # the scikit-learn estimator this one stands in for

    # -- fit --------------------------------------------------------------------------

    def fit(
        self, X, y, sample_weight=None, X_val=None, y_val=None, sample_weight_val=None
    ):
        """Fit the model to data matrix X and target(s) y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data. float32 data trains in float32, anything else in float64.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The target values (class labels in classification, real numbers in
            regression).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative sample weights.
        X_val, y_val : array-like, default=None
            A validation set. When given, it is what early stopping monitors
            (``scoring``, ``n_iter_no_change``, ``tol``) and its best epoch's
            weights are restored, whatever ``early_stopping`` says; without it,
            ``early_stopping=True`` holds out ``validation_fraction`` of X.
            Set ``n_iter_no_change=np.inf`` to watch it without stopping.
        sample_weight_val : array-like of shape (n_val_samples,), default=None
            Weights of the validation samples in the monitored score and loss.

        Returns
        -------
        self : object
            The fitted model.
        """
        self._validate_params()
        return self._fit(
            X, y, sample_weight, X_val, y_val, sample_weight_val, incremental=False
        )

    def _fit(self, X, y, sample_weight, X_val, y_val, sample_weight_val, incremental):
        with self._unchanged_on_error():
            if self.early_stopping and incremental:
                raise ValueError("partial_fit does not support early_stopping=True")
            hidden = self._hidden_layer_sizes()
            check_scoring_param(self.scoring)
            self._check_callbacks()
            first_pass = not hasattr(self, "coefs_") or (
                not self.warm_start and not incremental
            )
            X_given = X
            X, y_labels, Y = self._validate_input(X, y, incremental, reset=first_pass)
            dtype = X.dtype if first_pass else self._params.dtype
            X = as_kernel_array(X, dtype)
            Y = as_kernel_array(Y, dtype, name="y")
            user_weights = (
                None
                if sample_weight is None
                else check_training_weights(sample_weight, X, dtype)
            )
            weights = check_training_weights(
                self._with_class_weight(sample_weight, y_labels, incremental), X, dtype
            )
            validation = validation_set(
                self, X_val, y_val, sample_weight_val, dtype, Y.shape[1]
            )
            if validation is not None and self.solver == "lbfgs":
                warnings.warn(
                    "solver='lbfgs' runs no epochs to monitor: X_val and y_val are "
                    "not used.",
                    UserWarning,
                    stacklevel=3,
                )
            random_state = check_random_state(self.random_state)
            if first_pass:
                self._initialize(X.shape[1], hidden, Y, dtype, random_state)
            else:
                self._check_continuation(X.shape[1], hidden, Y)
                self._own_writeable_state()
            layout = self._layout()
            params = self._flat_params()
            rows = None
            if validation is None and self.early_stopping and self.solver != "lbfgs":
                rows, validation = hold_out(
                    self, X_given, X, Y, user_weights, random_state
                )
        with callback_management_context(self):
            epochs = 1 if incremental else self.max_iter
            tasks = FitTasks(
                self,
                "partial_fit" if incremental else "fit",
                0 if self.solver == "lbfgs" else epochs,
                X_given,
                y,
                sample_weight,
            )
            if self.solver == "lbfgs":
                self._fit_lbfgs(
                    layout, params, TrainingData(X, Y=Y, sample_weight=weights)
                )
            else:
                self._fit_stochastic(
                    layout,
                    params,
                    TrainingSet(TrainingData(X, Y=Y, sample_weight=weights), rows),
                    validation,
                    random_state,
                    incremental,
                    tasks,
                )
            tasks.fit_ends()
        return self

    @contextmanager
    def _unchanged_on_error(self):
        """Checking a fit's arguments sets attributes as it goes (``n_features_in_``,
        ``classes_``, a new network); when a check fails, put them all back, so
        that a fit that fails on its arguments leaves the model as it was."""
        before = dict(self.__dict__)
        try:
            yield
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(before)
            raise

    def _own_writeable_state(self):
        """Training writes into the weights, the best weights and the optimizer's
        state in place: a model loaded read-only (``joblib.load(...,
        mmap_mode="r")``) gets copies."""
        params = self._flat_params()
        if not params.flags.writeable:
            self._set_params_buffer(params.copy(), self._layout())
        if not self._best_params.flags.writeable:
            self._best_params = self._best_params.copy()
        optimizer = getattr(self, "_optimizer", None)
        if optimizer is not None:
            optimizer.own_writeable_state()

    def _check_callbacks(self):
        """``callbacks=`` takes functions run after each epoch; scikit-learn's
        callback objects go to ``set_callbacks``."""
        for callback in self.callbacks or ():
            if hasattr(callback, "on_fit_task_end"):
                raise TypeError(
                    f"{type(callback).__name__} is a scikit-learn callback: register "
                    "it with set_callbacks(...). callbacks= takes functions "
                    "callback(estimator, record) to call after each epoch."
                )
            if not callable(callback):
                raise TypeError(
                    "callbacks= takes functions callback(estimator, record) to call "
                    f"after each epoch; got {callback!r}."
                )

    def _hidden_layer_sizes(self):
        hidden = self.hidden_layer_sizes
        if not hasattr(hidden, "__iter__"):
            hidden = [hidden]
        hidden = list(hidden)
        if not all(isinstance(h, Integral) and h > 0 for h in hidden):
            raise ValueError(
                f"hidden_layer_sizes must be positive integers, got {hidden}."
            )
        return [int(h) for h in hidden]

    def _with_class_weight(self, sample_weight, y_labels, incremental):
        """Training weights: the sample weights times any class weights."""
        return sample_weight

    def _initialize(self, n_features, hidden, Y, dtype, random_state):
        """A new network and fresh fitted attributes, as scikit-learn's
        ``_initialize`` sets them, with the same random draws."""
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = Y.shape[1]
        self._layer_units = [n_features, *hidden, self.n_outputs_]
        self.n_layers_ = len(self._layer_units)
        self.out_activation_ = self._output_activation()
        layout = self._layout()
        params = _parameters.glorot_uniform(
            layout, self.activation, random_state, dtype
        )
        self._set_params_buffer(params, layout)
        self._best_params = params.copy()
        self.history_ = []
        self.validation_loss_curve_ = []
        self.best_epoch_ = None
        self.__dict__.pop("_monitoring", None)
        self.__dict__.pop("_optimizer", None)  # its state is the old network's
        if self.solver != "lbfgs":
            self.loss_curve_ = []
            self._no_improvement_count = 0

    def _check_continuation(self, n_features, hidden, Y):
        """warm_start / partial_fit: the data and settings must fit the network."""
        expected = [n_features, *hidden, Y.shape[1]]
        if expected != self._layer_units:
            raise ValueError(
                f"The fitted network has layer widths {self._layer_units}, but this "
                f"fit asks for {expected} (n_features, hidden_layer_sizes, "
                "n_outputs). Fit from scratch (warm_start=False) to change them."
            )

    def _set_params_buffer(self, params, layout):
        self._params = params
        self.coefs_, self.intercepts_ = _parameters.param_views(layout, params)

    def _layout(self):
        return _network.make_layout(
            self._layer_units[0],
            self._layer_units[1:-1],
            self._layer_units[-1],
            self.activation,
            self.out_activation_,
        )

    def _flat_params(self):
        """The flat buffer behind ``coefs_``/``intercepts_``.

        Writes into ``coefs_``/``intercepts_`` go straight to the buffer; if they were
        replaced by other arrays (to move weights in), those are packed into a new
        buffer here, so the next fit or prediction uses them.
        """
        layout = self._layout()
        params = _parameters.current_buffer(
            self._params, self.coefs_, self.intercepts_, layout
        )
        if params is not self._params:
            self._set_params_buffer(params, layout)
        return self._params

    def _adopt_replaced_weights(self, params):
        """Make ``params`` (the buffer training writes into) hold the weights of
        ``coefs_``/``intercepts_`` and be their buffer again, if arrays were put
        in their place during training (``_flat_params`` packed them elsewhere)."""
        if self._flat_params() is not params:
            params[:] = self._params
            self._set_params_buffer(params, self._layout())

    def _fit_lbfgs(self, layout, params, data):
        grads = np.empty_like(params)
        chunk = _network.chunk_rows(layout, data.n_rows)
        work = _network.workspace(layout, chunk, params.dtype)

        def loss_and_gradient(x):
            params[:] = x
            loss = _kernels.loss_and_gradient(
                layout, data, params, grads, work, chunk, self.alpha
            )
            return loss, grads.astype(np.float64)

        initial = params.copy()
        result = scipy.optimize.minimize(
            loss_and_gradient,
            initial.astype(np.float64),
            method="L-BFGS-B",
            jac=True,
            options={
                "maxfun": self.max_fun,
                "maxiter": self.max_iter,
                "gtol": self.tol,
            },
        )
        self.n_iter_ = _check_optimize_result("lbfgs", result, self.max_iter)
        self.loss_ = float(result.fun)
        params[:] = result.x  # (float32 models: the cast can overflow too)
        if not (np.isfinite(result.fun) and _kernels.all_finite(params)):
            params[:] = initial
            raise ValueError(
                f"L-BFGS diverged: the loss at its last point is {result.fun}. Scale "
                "the inputs (for example with StandardScaler). The model keeps its "
                "initial weights."
            )

    def _fit_stochastic(
        self, layout, params, training, validation, random_state, incremental, tasks
    ):
        if not hasattr(self, "loss_curve_"):  # the network is an lbfgs fit's
            self.loss_curve_ = []
            self._no_improvement_count = 0
        if not incremental or not hasattr(self, "_optimizer"):
            self._optimizer = Optimizer(
                self.solver,
                layout.n_params,
                params.dtype,
                learning_rate_init=self.learning_rate_init,
                lr_schedule=self.learning_rate,
                momentum=self.momentum,
                nesterovs_momentum=self.nesterovs_momentum,
                power_t=self.power_t,
                beta_1=self.beta_1,
                beta_2=self.beta_2,
                epsilon=self.epsilon,
            )
        batch_size = self._batch_size(training.n_samples)
        monitor = None
        if validation is not None:
            monitor = Monitor(self, self.scoring, validation, layout, params.dtype)
        early_stopping = EarlyStopping(
            monitor.name if monitor is not None else None,
            monitor.greater_is_better if monitor is not None else False,
            self.tol,
            self.n_iter_no_change,
        )
        state = FitState.from_estimator(self, params)
        early_stopping.start(state)
        EpochLoop(
            self,
            layout,
            state,
            training,
            monitor,
            early_stopping,
            batch_size,
            incremental,
            random_state,
            tasks,
        ).run()

    def _batch_size(self, n_samples):
        if self.batch_size == "auto":
            return min(200, n_samples)
        if self.batch_size == "full":
            return n_samples
        if self.batch_size > n_samples:
            warnings.warn(
                "Got `batch_size` less than 1 or larger than "
                "sample size. It is going to be clipped",
                stacklevel=5,
            )
        return int(np.clip(self.batch_size, 1, n_samples))

    def _sklearns_watch(self):
        """What scikit-learn's early stopping watches, as ``_monitoring`` records
        it: (metric name, greater is better)."""
        return ("accuracy" if is_classifier(self) else "r2", True)

    # -- predict ----------------------------------------------------------------------

    def _forward(self, X):
        """Output-layer activations for X (validated here)."""
        check_is_fitted(self)
        check_sparse_structure(X)
        X = validate_data(
            self, X, accept_sparse="csr", reset=False, dtype=(np.float64, np.float32)
        )
        params = self._flat_params()
        X = as_kernel_array(X, params.dtype)
        return _network.forward(self._layout(), params, TrainingData(X))

    def predict(self, X):
        """Predict using the multi-layer perceptron.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The predicted classes or values.
        """
        return self._predict_from_output(self._forward(X))

    # -- scikit-learn glue ------------------------------------------------------------

    def _check_solver(self):
        if self.solver not in ("sgd", "adam"):
            raise AttributeError(
                "partial_fit is only available for stochastic"
                f" optimizers. {self.solver} is not stochastic."
            )
        return True

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def __getstate__(self):
        if hasattr(self, "_params"):
            self._flat_params()  # arrays put into coefs_ are what is saved
        state = dict(super().__getstate__(), _fastsgd_version=__version__)
        if "_params" in state:
            del state["coefs_"], state["intercepts_"]
        return state

    def __setstate__(self, state):
        state = dict(state)
        pickled_by = state.pop("_fastsgd_version", "unknown")
        if pickled_by != __version__:
            warnings.warn(
                InconsistentVersionWarning(
                    estimator_name=type(self).__name__,
                    current_fastsgd_version=__version__,
                    original_fastsgd_version=pickled_by,
                ),
                stacklevel=2,
            )
        super().__setstate__(state)
        if "_params" in state:
            self._set_params_buffer(self._params, self._layout())

    def to_sklearn(self):
        """A fitted scikit-learn MLP with the same weights and predictions.

        ``batch_size="full"`` becomes ``"auto"`` and fastsgd's extra parameters are
        dropped: they only matter for fitting.

        Returns
        -------
        estimator : sklearn.neural_network.MLPClassifier or MLPRegressor
        """
        return _sklearn_interop.to_sklearn(self)

    @classmethod
    def from_sklearn(cls, estimator):
        """A fastsgd model with the parameters and weights of a fitted scikit-learn
        MLP (predictions are the same).

        Parameters
        ----------
        estimator : sklearn.neural_network.MLPClassifier or MLPRegressor
            A fitted model of the matching kind.

        Returns
        -------
        model : MLPClassifier or MLPRegressor
        """
        return _sklearn_interop.from_sklearn(cls, estimator)


class MLPClassifier(ClassifierMixin, BaseMLP):
    """Multi-layer perceptron classifier trained by compiled SGD kernels.

    A drop-in for :class:`sklearn.neural_network.MLPClassifier`: every parameter,
    default and fitted attribute is scikit-learn's, the same ``random_state`` draws
    the same initial weights, shuffles and validation split, and one epoch makes
    the same updates. See scikit-learn's documentation for the shared parameters;
    what fastsgd adds is below.

    Parameters
    ----------
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        Width of each hidden layer.
    activation : {"identity", "logistic", "tanh", "relu"}, default="relu"
        Hidden activation.
    solver : {"lbfgs", "sgd", "adam"}, default="adam"
    alpha : float, default=0.0001
        L2 penalty, scaled by the batch's sample-weight sum as scikit-learn does.
    batch_size : int, "auto" or "full", default="auto"
        Samples per update. 1 is on-line training (the fast path); "full" makes
        one update per epoch over the whole training set.
    learning_rate : {"constant", "invscaling", "adaptive"}, default="constant"
    learning_rate_init : float, default=0.001
    power_t : float, default=0.5
    max_iter : int, default=200
        Maximum number of epochs.
    shuffle : bool, default=True
    random_state : int, RandomState instance or None, default=None
    tol : float, default=1e-4
    verbose : bool or int, default=False
        Print one row per epoch (losses, monitored score with ``*`` on the best,
        learning rate, seconds), then why training stopped.
    warm_start : bool, default=False
    momentum : float, default=0.9
    nesterovs_momentum : bool, default=True
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data (when no ``X_val`` is
        passed to ``fit``) and stop when the monitored score stops improving.
    validation_fraction : float, default=0.1
    beta_1, beta_2, epsilon : float
        Adam's parameters.
    n_iter_no_change : int, default=10
    max_fun : int, default=15000
        L-BFGS's limit on loss evaluations.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in training, multiplied into the sample weights
        (not into the validation set's weights).
    scoring : None, "loss", str or callable, default=None
        What early stopping monitors on the validation set: None is accuracy (as
        in scikit-learn), "loss" the validation log loss (lower is better), any
        scikit-learn scorer name ("f1", "roc_auc", ...) or a callable
        ``scorer(estimator, X, y)``, given the validation rows as passed to ``fit``
        (and their weights as ``sample_weight=`` when it takes them); higher is
        better for scorers.
    restore_best_weights : bool, default=True
        After a fit that monitored a validation set, keep the best epoch's weights.
    callbacks : list of callables, default=None
        ``callback(estimator, record)`` after each epoch; returning True stops
        training. See :mod:`fastsgd.callbacks`.

    Attributes
    ----------
    classes_, loss_, best_loss_, loss_curve_, validation_scores_,
    best_validation_score_, t_, coefs_, intercepts_, n_features_in_,
    feature_names_in_, n_iter_, n_layers_, n_outputs_, out_activation_
        As in scikit-learn. ``coefs_`` and ``intercepts_`` are views into one
        parameter buffer: writing into them changes the model.
    history_ : list of dict
        One record per epoch: ``epoch``, ``train_loss``, ``valid_loss`` and
        ``valid_score`` (with a validation set), ``learning_rate``, ``seconds``,
        ``is_best``.
    validation_loss_curve_ : list of float
        Validation loss per epoch (no L2 term).
    best_epoch_ : int or None
        The epoch with the best monitored value (validation score, or training loss
        without a validation set); its weights are the model's when a validation
        set was monitored and ``restore_best_weights`` is True.
    """

    _sklearn_class = SklearnMLPClassifier
    _parameter_constraints: dict = {
        **BaseMLP._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        class_weight=None,
        scoring=None,
        restore_best_weights=True,
        callbacks=None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.class_weight = class_weight
        self.scoring = scoring
        self.restore_best_weights = restore_best_weights
        self.callbacks = callbacks

    def _output_activation(self):
        if self._label_binarizer.y_type_ == "multiclass":
            return "softmax"
        return "logistic"

    def _validate_input(self, X, y, incremental, reset):
        """scikit-learn's checks; returns X, the labels and the binarized targets."""
        check_sparse_structure(X)
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse="csr",
            multi_output=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if (not hasattr(self, "classes_")) or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same "
                        "classes as in the previous call to fit. Previously "
                        f"got {self.classes_}, `y` has {classes}"
                    )
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(
                    "`y` has classes not in `self.classes_`. "
                    f"`self.classes_` has {self.classes_}. 'y' has {classes}."
                )
        Y = self._label_binarizer.transform(y)
        return X, y, Y

    def _with_class_weight(self, sample_weight, y_labels, incremental):
        if self.class_weight is None:
            return sample_weight
        if incremental and self.class_weight == "balanced":
            raise ValueError(
                "class_weight 'balanced' is not supported for partial_fit: the "
                "class frequencies of later batches are unknown. Pass a dict of "
                "class weights instead."
            )
        if y_labels.ndim == 1 and isinstance(self.class_weight, dict):
            # Over every class of the model, not only this call's: partial_fit
            # batches may lack some, and classes missing from the dict weigh 1.
            per_class = compute_class_weight(
                self.class_weight, classes=self.classes_, y=y_labels
            )
            class_weights = per_class[np.searchsorted(self.classes_, y_labels)]
        else:
            class_weights = compute_sample_weight(self.class_weight, y_labels)
        if sample_weight is None:
            return class_weights
        return np.asarray(sample_weight, dtype=np.float64) * class_weights

    def _scorer_targets(self, Y):
        return self._label_binarizer.inverse_transform(Y)

    def _validation_targets(self, y_val, n_samples):
        y_val = (
            column_or_1d(y_val)
            if np.ndim(y_val) == 1 or (np.ndim(y_val) == 2 and np.shape(y_val)[1] == 1)
            else np.asarray(y_val)
        )
        if y_val.shape[0] != n_samples:
            raise ValueError(
                f"X_val has {n_samples} samples but y_val has {y_val.shape[0]}."
            )
        unseen = np.setdiff1d(unique_labels(y_val), self.classes_)
        if len(unseen):
            raise ValueError(
                f"y_val has classes {unseen} that are not in the training classes "
                f"{self.classes_}."
            )
        return self._label_binarizer.transform(y_val), y_val

    def _predict_from_output(self, output):
        if self.n_outputs_ == 1:
            output = output.ravel()
        return self._label_binarizer.inverse_transform(output)

    def _proba_from_output(self, output):
        if self.n_outputs_ == 1:
            p = output.ravel()
            return np.vstack([1 - p, p]).T
        return output

    @available_if(lambda est: est._check_solver())
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Update the model with a single epoch over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,)
            The target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.
        classes : array of shape (n_classes,), default=None
            Classes across all calls to partial_fit; required on the first call.

        Returns
        -------
        self : object
            Trained MLP model.
        """
        self._validate_params()
        if _check_partial_fit_first_call(self, classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
        return self._fit(X, y, sample_weight, None, None, None, incremental=True)

    def predict_proba(self, X):
        """Probability estimates.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y_prob : ndarray of shape (n_samples, n_classes)
            The probability of each class, in the order of ``classes_``.
        """
        return self._proba_from_output(self._forward(X))

    def predict_log_proba(self, X):
        """Log of probability estimates.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        log_y_prob : ndarray of shape (n_samples, n_classes)
            ``log(predict_proba(X))``.
        """
        y_prob = self.predict_proba(X)
        return np.log(y_prob, out=y_prob)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, BaseMLP):
    """Multi-layer perceptron regressor trained by compiled SGD kernels.

    A drop-in for :class:`sklearn.neural_network.MLPRegressor`, with the same
    additions as :class:`MLPClassifier` (but no ``class_weight``). ``scoring=None``
    monitors R²; ``"loss"`` the validation loss (half squared error, or half Poisson
    deviance).

    Parameters
    ----------
    loss : {"squared_error", "poisson"}, default="squared_error"
        The loss; "poisson" uses an exp output.
    hidden_layer_sizes, activation, solver, alpha, batch_size, learning_rate, \
learning_rate_init, power_t, max_iter, shuffle, random_state, tol, verbose, \
warm_start, momentum, nesterovs_momentum, early_stopping, validation_fraction, \
beta_1, beta_2, epsilon, n_iter_no_change, max_fun, scoring, restore_best_weights, \
callbacks
        As for :class:`MLPClassifier`.

    Attributes
    ----------
    loss_, best_loss_, loss_curve_, validation_scores_, best_validation_score_, \
t_, coefs_, intercepts_, n_features_in_, feature_names_in_, n_iter_, n_layers_, \
n_outputs_, out_activation_, history_, validation_loss_curve_, best_epoch_
        As for :class:`MLPClassifier`.
    """

    _sklearn_class = SklearnMLPRegressor
    _parameter_constraints: dict = {
        **BaseMLP._parameter_constraints,
        "loss": SklearnMLPRegressor._parameter_constraints["loss"],
    }

    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        scoring=None,
        restore_best_weights=True,
        callbacks=None,
    ):
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.scoring = scoring
        self.restore_best_weights = restore_best_weights
        self.callbacks = callbacks

    def _output_activation(self):
        return "exp" if self.loss == "poisson" else "identity"

    def _validate_input(self, X, y, incremental, reset):
        check_sparse_structure(X)
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse="csr",
            multi_output=True,
            y_numeric=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson":
            check_poisson_targets(y)
        return X, y, y.reshape(y.shape[0], -1)

    def _scorer_targets(self, Y):
        return Y.ravel() if Y.shape[1] == 1 else Y

    def _validation_targets(self, y_val, n_samples):
        y_val = np.asarray(y_val, dtype=np.float64)
        if y_val.ndim == 2 and y_val.shape[1] == 1:
            y_val = y_val.ravel()
        if y_val.shape[0] != n_samples:
            raise ValueError(
                f"X_val has {n_samples} samples but y_val has {y_val.shape[0]}."
            )
        Y_val = y_val.reshape(n_samples, -1)
        if not np.isfinite(Y_val).all():
            raise ValueError("y_val contains NaN or infinity.")
        if self.loss == "poisson":
            check_poisson_targets(Y_val)
        return Y_val, y_val

    def _predict_from_output(self, output):
        return output.ravel() if output.shape[1] == 1 else output

    @available_if(lambda est: est._check_solver())
    def partial_fit(self, X, y, sample_weight=None):
        """Update the model with a single epoch over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        self : object
            Trained MLP model.
        """
        self._validate_params()
        return self._fit(X, y, sample_weight, None, None, None, incremental=True)
