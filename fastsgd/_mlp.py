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
from fastsgd._monitor import Monitor, hold_out, scoring_metrics, validation_set
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

    See Also
    --------
    show_versions : The versions installed here.

    Examples
    --------
    Turn the warning into an error, to refuse models saved by another version:

    >>> import pickle
    >>> import warnings
    >>> from sklearn.datasets import load_iris
    >>> from fastsgd import InconsistentVersionWarning, MLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> data = pickle.dumps(MLPClassifier((4,)).partial_fit(X, y, classes=[0, 1, 2]))
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("error", InconsistentVersionWarning)
    ...     model = pickle.loads(data)  # saved by this version: no warning
    >>> model.n_iter_
    1

    The warning names both versions:

    >>> w = InconsistentVersionWarning(
    ...     estimator_name="MLPClassifier",
    ...     current_fastsgd_version="0.2.0",
    ...     original_fastsgd_version="0.1.0",
    ... )
    >>> w.original_fastsgd_version
    '0.1.0'
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
        "learning_rate": [
            StrOptions({"constant", "invscaling", "adaptive", "plateau"})
        ],
        "scoring": [None, str, callable, list, tuple, dict],
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

        Trains for up to ``max_iter`` epochs (``solver="sgd"`` or ``"adam"``), or
        runs L-BFGS (``solver="lbfgs"``). With ``warm_start=False`` every call
        starts from new weights drawn from ``random_state``; with
        ``warm_start=True`` it goes on from the current ones.

        What fastsgd adds to scikit-learn's ``fit`` is a validation set of your
        own: given ``X_val`` and ``y_val``, the model is scored on them after
        every epoch (by ``scoring``), training stops when that score stops
        improving (``n_iter_no_change``, ``tol``), and the best epoch's weights
        are kept (``restore_best_weights``), whatever ``early_stopping`` says.
        Without them, ``early_stopping=True`` holds out ``validation_fraction``
        of the training rows exactly as scikit-learn does, and
        ``early_stopping=False`` watches the training loss.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data: a dense array of any memory layout (read-only arrays
            and memory maps included), a pandas DataFrame, a list of lists, or a
            scipy sparse matrix or array (CSR is used as it is; CSC and COO are
            converted once). float32 data trains in float32, anything else in
            float64.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The target values: class labels (or a label indicator matrix for
            multi-label classification) for the classifier, real numbers for the
            regressor.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the training samples, as in scikit-learn
            (each batch's gradient is their weighted sum divided by the sum of
            their weights). A batch whose weights sum to zero is skipped. With
            ``batch_size=1`` each step is divided by its own sample's weight, so
            the weights cancel out (scikit-learn's rule; a warning says so).
        X_val : {array-like, sparse matrix} of shape (n_val_samples, n_features), \
default=None
            Validation data to monitor after each epoch, in place of a split of
            ``X`` (the names are those of scikit-learn's
            ``HistGradientBoostingClassifier``). A callable ``scoring`` receives
            it as passed here, a DataFrame as a DataFrame. In a ``Pipeline``,
            metadata routing (``set_fit_request(X_val=True, y_val=True)``) and
            ``Pipeline(..., transform_input=["X_val"])`` transform it with ``X``.
            Not used by ``solver="lbfgs"``, which runs no epochs (a warning says
            so).
        y_val : array-like of shape (n_val_samples,) or (n_val_samples, \
n_outputs), default=None
            Targets of ``X_val``; required with it. A classifier's validation
            labels must be among the training classes.
        sample_weight_val : array-like of shape (n_val_samples,), default=None
            Weights of the validation samples in the validation loss and the
            monitored score (passed to a scorer as ``sample_weight=``, to a
            callable ``scoring`` only when it takes that argument).

        Returns
        -------
        object
            The fitted estimator itself.

        See Also
        --------
        partial_fit : One epoch over the given data, for data in chunks.
        to_sklearn : The fitted model as a scikit-learn MLP.

        Notes
        -----
        A fit that fails on its arguments (a bad ``X_val``, weights, a scorer
        name) leaves an already fitted model exactly as it was. Ctrl-C during a
        fit stops after the current epoch with a warning and leaves a usable
        model (the best epoch's weights when a validation set is watched).

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from sklearn.model_selection import train_test_split
        >>> from sklearn.preprocessing import StandardScaler
        >>> from fastsgd import MLPClassifier
        >>> X, y = load_iris(return_X_y=True)
        >>> X = StandardScaler().fit_transform(X)
        >>> X_train, X_val, y_train, y_val = train_test_split(
        ...     X, y, stratify=y, random_state=0
        ... )
        >>> clf = MLPClassifier(
        ...     (16,), solver="sgd", batch_size=1, learning_rate_init=0.01,
        ...     momentum=0, scoring="f1_macro", n_iter_no_change=5, random_state=0,
        ... )
        >>> clf = clf.fit(X_train, y_train, X_val=X_val, y_val=y_val)
        >>> len(clf.history_) > clf.best_epoch_  # it went on, then stopped
        True
        >>> clf.best_validation_score_ == max(clf.validation_scores_)
        True
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
            scoring_metrics(self.scoring)
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
        mmap_mode="r")``) gets copies, aligned as the kernels sweep them fastest
        (an unpickled model gets aligned copies too)."""
        params = self._flat_params()
        owned = _parameters.writeable_aligned(params)
        if owned is not params:
            self._set_params_buffer(owned, self._layout())
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

        One forward pass through the network with the fitted weights, in the
        model's dtype (float32 for a model trained on float32 data). Sparse input
        is read as CSR, touching only each row's non-zeros in the first layer.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The predicted classes (a label indicator matrix for multi-label
            classification), or the predicted values.

        See Also
        --------
        MLPClassifier.predict_proba : Probability estimates of a classifier.

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from sklearn.preprocessing import StandardScaler
        >>> from fastsgd import MLPClassifier
        >>> X, y = load_iris(return_X_y=True)
        >>> X = StandardScaler().fit_transform(X)
        >>> clf = MLPClassifier((8,), solver="sgd", batch_size=1,
        ...                     learning_rate_init=0.01, max_iter=50,
        ...                     random_state=0).fit(X, y)
        >>> clf.predict(X[[0, 50, 100]])
        array([0, 1, 2])
        """
        return self._predict_from_output(self._forward(X))

    def restore_best_epoch(self):
        """Put the weights of the best epoch (``best_epoch_``) back.

        ``fit`` does this itself at its end (``restore_best_weights=True``); a
        loop of ``partial_fit`` calls given a validation set (``X_val``,
        ``y_val``) calls it once it stops, to keep the best call's weights
        rather than the last. The weights are written in place (``coefs_`` and
        ``intercepts_`` stay views into the same buffer); the rest of the
        model (``history_``, the optimizer's state) is left as it is, so
        training can go on from the best weights.

        Returns
        -------
        object
            The estimator itself, with the best epoch's weights.

        Raises
        ------
        ValueError
            When no validation set was watched (then no best weights are kept).

        See Also
        --------
        partial_fit : One epoch, scored on a validation set when one is given.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.datasets import load_iris
        >>> from sklearn.model_selection import train_test_split
        >>> from sklearn.preprocessing import StandardScaler
        >>> from fastsgd import MLPClassifier
        >>> X, y = load_iris(return_X_y=True)
        >>> X = StandardScaler().fit_transform(X)
        >>> X, X_val, y, y_val = train_test_split(X, y, stratify=y, random_state=0)
        >>> clf = MLPClassifier((8,), solver="sgd", learning_rate_init=0.05,
        ...                     scoring="f1_macro", n_iter_no_change=3,
        ...                     random_state=0)
        >>> for chunk in range(100):
        ...     rows = slice(chunk % 4 * 28, chunk % 4 * 28 + 28)
        ...     clf = clf.partial_fit(X[rows], y[rows], classes=[0, 1, 2],
        ...                           X_val=X_val, y_val=y_val)
        ...     if clf.stop_training_:
        ...         break
        >>> clf.stop_training_, clf.best_epoch_ < len(clf.history_)
        (True, True)
        >>> clf = clf.restore_best_epoch()
        >>> from sklearn.metrics import f1_score
        >>> f1 = f1_score(y_val, clf.predict(X_val), average="macro")
        >>> f1 == clf.best_validation_score_
        True
        """
        check_is_fitted(self)
        watched = getattr(self, "_monitoring", None)
        if not isinstance(watched, tuple) or self.best_epoch_ is None:
            raise ValueError(
                "No best weights to restore: they are kept only while a validation "
                "set is watched (fit with X_val or early_stopping=True, partial_fit "
                "with X_val and y_val) and once an epoch has been scored."
            )
        np.copyto(self._flat_params(), self._best_params)
        return self

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
        """Return a fitted scikit-learn MLP with the same weights and predictions.

        The scikit-learn estimator (``sklearn.neural_network.MLPClassifier`` or
        ``MLPRegressor``) gets this model's shared parameters, fitted attributes
        and copies of its weights (float32 weights stay float32), so its
        predictions are the same. fastsgd's own parameters (``scoring``,
        ``class_weight``, ``callbacks``, ...) are dropped: they only matter for
        fitting; ``batch_size="full"`` becomes "auto". The optimizer's state
        (velocities, Adam's moments and step, the current rate) and the
        early-stopping bookkeeping go along, so the exported model can
        warm-start or ``partial_fit`` in scikit-learn as this one would.

        Use it to hand a model to tools that know scikit-learn's MLP, such as
        skl2onnx for ONNX export.

        Returns
        -------
        sklearn.neural_network.MLPClassifier or MLPRegressor
            A fitted scikit-learn estimator, independent of this model.

        See Also
        --------
        from_sklearn : The other way: a fastsgd model from a scikit-learn one.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.datasets import load_iris
        >>> from sklearn.preprocessing import StandardScaler
        >>> from fastsgd import MLPClassifier
        >>> X, y = load_iris(return_X_y=True)
        >>> X = StandardScaler().fit_transform(X)
        >>> clf = MLPClassifier((8,), solver="sgd", batch_size=1,
        ...                     learning_rate_init=0.01, max_iter=50,
        ...                     random_state=0).fit(X, y)
        >>> sk = clf.to_sklearn()
        >>> type(sk).__module__
        'sklearn.neural_network._multilayer_perceptron'
        >>> np.allclose(sk.predict_proba(X), clf.predict_proba(X))
        True
        """
        return _sklearn_interop.to_sklearn(self)

    @classmethod
    def from_sklearn(cls, estimator):
        """Return a fastsgd model with the weights of a fitted scikit-learn MLP.

        The new model gets the parameters that fastsgd shares with the
        scikit-learn estimator, its fitted attributes and a copy of its weights
        (in float32 when all of them are float32, otherwise in float64), so its
        predictions are the same. The optimizer's state and the early-stopping
        bookkeeping come along, so that a ``warm_start`` fit or ``partial_fit``
        goes on as scikit-learn's would. ``history_`` starts empty and
        ``best_epoch_`` is None: scikit-learn records neither.

        Parameters
        ----------
        estimator : sklearn.neural_network.MLPClassifier or MLPRegressor
            A fitted scikit-learn MLP of the matching kind
            (``MLPClassifier.from_sklearn`` takes a classifier,
            ``MLPRegressor.from_sklearn`` a regressor).

        Returns
        -------
        MLPClassifier or MLPRegressor
            A fitted fastsgd model, independent of ``estimator``.

        See Also
        --------
        to_sklearn : The other way: a scikit-learn model from a fastsgd one.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.datasets import load_iris
        >>> from sklearn.neural_network import MLPClassifier as SklearnMLP
        >>> from sklearn.preprocessing import StandardScaler
        >>> from fastsgd import MLPClassifier
        >>> X, y = load_iris(return_X_y=True)
        >>> X = StandardScaler().fit_transform(X)
        >>> sk = SklearnMLP((8,), solver="sgd", batch_size=16,
        ...                 learning_rate_init=0.1, random_state=0).fit(X, y)
        >>> clf = MLPClassifier.from_sklearn(sk)
        >>> np.allclose(clf.predict_proba(X), sk.predict_proba(X))
        True
        >>> clf = clf.partial_fit(X, y)  # one more epoch, with sgd's velocities
        """
        return _sklearn_interop.from_sklearn(cls, estimator)


class MLPClassifier(ClassifierMixin, BaseMLP):
    """Multi-layer perceptron classifier trained by compiled SGD kernels.

    A drop-in for scikit-learn's ``sklearn.neural_network.MLPClassifier``: every
    parameter, default and fitted attribute is scikit-learn's, the same
    ``random_state`` draws the same initial weights, shuffles and
    early-stopping split, and an epoch from the same weights on the same sample
    order makes scikit-learn's updates, to floating-point rounding. The epochs
    run in compiled code (one call per epoch, without the GIL), so the same fit
    is many times faster, most of all on-line (``batch_size=1``).

    What fastsgd adds: early stopping on any metric (``scoring``) and on a
    validation set of your own (``fit(X, y, X_val=..., y_val=...)``), the best
    epoch's weights kept (``restore_best_weights``), a per-epoch log
    (``verbose``) and record (``history_``), callbacks, class weights,
    ``batch_size="full"``, float32 training for float32 data, scipy sparse
    input, and export to and from scikit-learn (``to_sklearn``,
    ``from_sklearn``).

    Parameters
    ----------
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        The ith element is the number of units in the ith hidden layer; an int
        is one hidden layer. Widths must be positive integers.
    activation : {"identity", "logistic", "tanh", "relu"}, default="relu"
        Activation of the hidden layers: ``f(x) = x``, the logistic sigmoid,
        ``tanh`` or ``max(0, x)``.
    solver : {"lbfgs", "sgd", "adam"}, default="adam"
        The weight optimizer. "sgd" is stochastic gradient descent (with
        ``momentum``), "adam" is Kingma and Ba's Adam, both run by compiled
        epoch kernels; "lbfgs" is scipy's L-BFGS-B on the full-batch loss and
        gradient (computed by the same kernels), which has no epochs: no
        validation set, ``history_``, ``verbose`` rows or callbacks.
    alpha : float, default=0.0001
        Strength of the L2 penalty. As in scikit-learn, ``alpha * W`` (the
        weights, not the intercepts) is added to a batch's summed gradient,
        which is then divided by the batch's sample-weight sum.
    batch_size : int, "auto" or "full", default="auto"
        Samples per update for "sgd" and "adam". "auto" is
        ``min(200, n_samples)``; a size above ``n_samples`` is clipped, with a
        warning, as in scikit-learn. fastsgd adds "full": one update per epoch
        over the whole training set (its gradient is summed over row chunks, so
        memory stays bounded). ``batch_size=1`` is on-line training, fastsgd's
        fastest path (scikit-learn's slowest).
    learning_rate : {"constant", "invscaling", "adaptive", "plateau"}, \
default="constant"
        Learning-rate schedule for ``solver="sgd"`` (Adam keeps
        ``learning_rate_init``, except under "plateau"). "constant" keeps
        ``learning_rate_init``.
        "invscaling" sets it to ``learning_rate_init / (t_ + 1) ** power_t``
        after each epoch. "adaptive" keeps it until the monitored value (see
        ``n_iter_no_change``) fails to improve for more than
        ``n_iter_no_change`` epochs, then divides it by 5, and stops once it is
        1e-6 or less. In fastsgd the monitored value is the one early stopping
        watches: the ``scoring`` metric on the validation set when there is
        one, the training loss otherwise. fastsgd adds "plateau", for "sgd" and
        "adam": scikit-learn's adaptive rule as its documentation states it,
        on that same watched value: after two epochs in a row without an
        improvement above ``tol`` the rate (Adam's ``learning_rate_init``) is
        divided by 5, and training stops once it is 1e-6 or less; early
        stopping's patience (``n_iter_no_change``) still applies. Each drop is
        in ``history_`` (``lr_dropped``) and the verbose log.
    learning_rate_init : float, default=0.001
        The initial learning rate ("sgd" and "adam"), in scikit-learn's
        convention: the step applies to the mean gradient of a batch.
    power_t : float, default=0.5
        The exponent of the "invscaling" schedule.
    max_iter : int, default=200
        The most epochs a ``fit`` runs ("sgd", "adam"; ``partial_fit`` runs one),
        or the most L-BFGS iterations ("lbfgs").
    shuffle : bool, default=True
        Whether to shuffle the training samples before each epoch ("sgd",
        "adam"); the permutation is the one scikit-learn draws from the same
        ``random_state``. ``partial_fit`` shuffles within each call's data.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights, the shuffles and the early-stopping split,
        drawn by the same calls as scikit-learn's (so the same values). Pass an
        int for reproducible fits.
    tol : float, default=1e-4
        Tolerance of the stopping rule, as in scikit-learn: an epoch counts as an
        improvement when the monitored value beats the best so far by more than
        ``tol`` (a score must rise, a loss must fall). fastsgd monitors the
        ``scoring`` metric on the validation set, or the training loss without
        one. For ``solver="lbfgs"`` it is L-BFGS's gradient tolerance.
    verbose : bool or int, default=False
        Print one aligned row per epoch as it ends (epoch, training loss,
        validation loss and monitored score with ``*`` on the best value,
        learning rate, seconds), then a line saying why training stopped and
        which epoch's weights were kept. scikit-learn prints one loss per epoch.
        ``solver="lbfgs"`` prints nothing.
    warm_start : bool, default=False
        When True, ``fit`` goes on from the weights of the previous fit (which
        may have been written into ``coefs_`` and ``intercepts_``), with the same
        classes and layer widths; ``history_`` goes on counting epochs. The
        optimizer's state starts afresh, as in scikit-learn.
    momentum : float, default=0.9
        Momentum of the "sgd" updates, between 0 and 1. 0 is plain SGD, the
        cheapest update; on sparse input with ``alpha=0`` an on-line step then
        touches only the first-layer weights of the sample's non-zeros.
    nesterovs_momentum : bool, default=True
        Whether "sgd" with momentum uses Nesterov's momentum.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data as scikit-learn
        does (the same rows; stratified for binary targets), score it after each
        epoch and stop when the monitored score stops improving (see
        ``n_iter_no_change``), keeping the best epoch's weights. Only for "sgd"
        and "adam", not for ``partial_fit``. A validation set passed to ``fit``
        as ``X_val``/``y_val`` is monitored in the same way, and no data is held
        out, whatever this parameter says.
    validation_fraction : float, default=0.1
        The fraction of the training data held out by ``early_stopping`` (when
        no ``X_val`` is passed to ``fit``), strictly between 0 and 1.
    beta_1 : float, default=0.9
        Exponential decay rate of Adam's first-moment estimates, in [0, 1).
    beta_2 : float, default=0.999
        Exponential decay rate of Adam's second-moment estimates, in [0, 1).
    epsilon : float, default=1e-8
        Adam's value for numerical stability.
    n_iter_no_change : int or np.inf, default=10
        Patience ("sgd", "adam"): training stops (or, with
        ``learning_rate="adaptive"``, the rate is divided by 5) when the
        monitored value has not improved by more than ``tol`` for more than
        ``n_iter_no_change`` consecutive epochs. As in scikit-learn, the value
        is the validation score when a validation set is watched and the
        training loss otherwise; in fastsgd the score is the ``scoring``
        metric. ``np.inf`` watches without stopping: every epoch up to
        ``max_iter`` runs and the best one's weights are still kept.
    max_fun : int, default=15000
        The most loss evaluations L-BFGS may make ("lbfgs" only).
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in training, multiplied into the sample weights
        (not into the validation samples' weights). A dict maps classes to
        weights (missing classes weigh 1); "balanced" weighs each class by
        ``n_samples / (n_classes * count)``, and is refused by ``partial_fit``,
        which cannot know later chunks' class counts. Not in scikit-learn's
        MLP. Like sample weights, class weights cancel out of on-line steps
        (``batch_size=1``).
    scoring : str, callable, list, dict or None, default=None
        What early stopping monitors on the validation set, and what
        ``validation_scores_`` and the ``valid_score`` of ``history_`` hold.
        None is scikit-learn's choice, accuracy. "loss" is the validation log
        loss (lower is better). Any scikit-learn scorer name ("f1",
        "f1_macro", "roc_auc", "balanced_accuracy", "neg_log_loss", ...)
        is computed from one compiled forward pass over the validation set per
        epoch. A callable ``scorer(estimator, X, y)`` is given the fitted
        estimator in its current state and the validation set as it was passed
        to ``fit`` (and ``sample_weight=`` when it takes that argument). Higher
        is better, except for "loss". Several metrics, as ``GridSearchCV``
        takes them: a list of scorer names or a dict of names to scorer names or
        callables. Each is computed every epoch from the same forward pass and
        recorded in ``history_`` as ``valid_<name>`` (a column of the verbose
        table); the first one is watched. Not in scikit-learn's MLP.
    restore_best_weights : bool, default=True
        After a fit that monitored a validation set, keep the weights of the best
        epoch (``best_epoch_``), as scikit-learn does; False keeps the last
        epoch's. Without a validation set the last epoch's weights are kept
        either way. Not in scikit-learn's MLP.
    callbacks : list of callable, default=None
        Functions ``callback(estimator, record)`` called after each epoch with
        that epoch's ``history_`` record; one that returns True stops training.
        A callback may write into ``coefs_`` and ``intercepts_``, or put new
        arrays there: training goes on from them. A callback that has
        ``on_train_begin(estimator)`` or ``on_train_end(estimator)`` methods has
        them called around each ``fit`` (not around ``partial_fit`` calls).
        See :class:`fastsgd.callbacks.ProgressBar`. Not in scikit-learn's MLP.
        scikit-learn's own callback objects (``sklearn.callback``, scikit-learn
        1.9 or later: ``ProgressBar``, ``ScoringMonitor``) are registered with
        ``set_callbacks`` instead; passing one here is a ``TypeError``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels (for multi-label targets, the label columns).
    loss_ : float
        The training loss of the last epoch (or of L-BFGS's last point): the
        mean log loss plus the L2 penalty, each batch's loss computed before its
        update, as in scikit-learn.
    best_loss_ : float or None
        The smallest value in ``loss_curve_`` when no validation set is watched;
        None when one is (see ``best_validation_score_``). Like the curves and
        scores below, set by "sgd" and "adam" only, as in scikit-learn.
    loss_curve_ : list of float
        The training loss of each epoch ("sgd", "adam").
    validation_scores_ : list of float or None
        The monitored score (``scoring``) on the validation set after each
        epoch, or None when no validation set is watched. scikit-learn records
        accuracy on its own split; fastsgd records the ``scoring`` metric (the
        validation loss for "loss") on the set it watched. An epoch whose
        outputs are not finite scores NaN.
    best_validation_score_ : float or None
        The best value in ``validation_scores_`` (the largest, or the smallest
        for ``scoring="loss"``), or None when no validation set is watched.
    t_ : int
        The number of training samples seen by the solver (over ``partial_fit``
        calls and warm starts).
    coefs_ : list of ndarray
        ``coefs_[i]``, of shape ``(fan_in, fan_out)``, is the weight matrix from
        layer i to layer i + 1. Views into one flat parameter buffer: writing
        into them in place changes the model (the next ``fit`` with
        ``warm_start=True`` starts from it), and so does putting new arrays in
        the list. float32 for a model trained on float32 data.
    intercepts_ : list of ndarray
        ``intercepts_[i]``, of shape ``(fan_out,)``, is the bias vector of layer
        i + 1; views into the same buffer as ``coefs_``.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features,)
        Names of the features seen during ``fit``; defined only when ``X`` has
        feature names that are all strings.
    n_iter_ : int
        The number of epochs the last ``fit`` ran (1 after ``partial_fit``), or
        L-BFGS's number of iterations.
    n_layers_ : int
        Number of layers, input and output included.
    n_outputs_ : int
        Number of output units: 1 for binary targets, one per class for
        multi-class and per label for multi-label targets.
    out_activation_ : str
        The output activation: "softmax" for multi-class targets, "logistic"
        for binary and multi-label ones.
    history_ : list of dict
        One record per epoch ("sgd", "adam"; empty for "lbfgs"), in order:
        ``epoch`` (counted from 1 over warm starts and ``partial_fit`` calls),
        ``train_loss``, ``valid_loss`` and ``valid_score`` (when a validation set
        is watched; with several ``scoring`` metrics also ``valid_<name>`` for
        each), ``learning_rate`` (the schedule's rate for that epoch; Adam's
        ``learning_rate_init``), ``seconds`` (the epoch's wall time,
        scoring included) and ``is_best`` (whether it improved on the best so
        far); under ``learning_rate="plateau"`` also ``lr_dropped`` (whether
        the rate was divided by 5 after that epoch).
        ``pandas.DataFrame(history_)`` makes a table of it. Not in
        scikit-learn's MLP.
    validation_loss_curve_ : list of float
        The validation loss after each epoch (the mean log loss, weighted by
        ``sample_weight_val``, without the L2 penalty), empty when no validation
        set is watched. Not in scikit-learn's MLP.
    best_epoch_ : int or None
        The epoch (as numbered in ``history_``) with the best monitored value:
        the validation score when a validation set is watched, otherwise the
        training loss. Its weights are the model's after a fit that watched a
        validation set with ``restore_best_weights=True``. None when no epoch
        improved on the start or the solver is "lbfgs". Not in scikit-learn's
        MLP.
    stop_training_ : bool
        Whether the last ``fit`` or ``partial_fit`` call ("sgd", "adam") ended
        on a stopping rule: the patience ran out (``n_iter_no_change``), the
        "plateau" rate fell to 1e-6, a callback returned True, training diverged
        or was interrupted (not when ``fit`` reached ``max_iter``). A loop of
        ``partial_fit`` calls stops when it is True, then calls
        ``restore_best_epoch``. Not in scikit-learn's MLP.

    See Also
    --------
    MLPRegressor : Multi-layer perceptron regressor trained by the same kernels.
    fastsgd.callbacks.ProgressBar : A progress display for long fits.
    sklearn.neural_network.MLPClassifier : The scikit-learn estimator this one
        stands in for.

    Notes
    -----
    Where fastsgd differs from scikit-learn on purpose:

    - At ``batch_size=1`` scikit-learn's update divides a sample's gradient by
      its own weight, so sample and class weights cancel out of on-line steps.
      fastsgd keeps that rule but warns when weights are passed with
      ``batch_size=1``.
    - A batch whose weights sum to zero is skipped (scikit-learn raises
      ``ZeroDivisionError``); negative sample weights are rejected.
    - A ``fit`` that fails on its arguments leaves an already fitted model
      exactly as it was. A float32 model refuses float64 values beyond
      float32's range instead of computing with infinities.
    - Divergence (non-finite weights or loss) is checked after every epoch.
      Without a watched validation set it raises a ``ValueError`` naming the
      epoch, and the model keeps its last finite weights. With one, training
      ends as in scikit-learn: the best epoch's weights stay (whatever
      ``restore_best_weights`` says), NaN is recorded as the last validation
      score, and a warning names the epoch; it is still a ``ValueError`` if
      even the best weights give non-finite outputs.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.model_selection import train_test_split
    >>> from sklearn.preprocessing import StandardScaler
    >>> from fastsgd import MLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> X_train, X_test, y_train, y_test = train_test_split(
    ...     X, y, stratify=y, random_state=0
    ... )
    >>> clf = MLPClassifier(
    ...     (8,), solver="sgd", batch_size=1, learning_rate_init=0.01,
    ...     max_iter=50, random_state=0,
    ... ).fit(X_train, y_train)
    >>> clf.predict(X_test[7:10])
    array([0, 1, 2])
    >>> clf.predict_proba(X_test[7:10]).shape
    (3, 3)
    >>> clf.score(X_test, y_test) > 0.9
    True

    Early stopping on macro-averaged F1 over a validation split of your own,
    printing each epoch:

    >>> X_fit, X_val, y_fit, y_val = train_test_split(
    ...     X_train, y_train, stratify=y_train, random_state=0
    ... )
    >>> clf = MLPClassifier(  # doctest: +ELLIPSIS, +NORMALIZE_WHITESPACE
    ...     (8,), solver="sgd", batch_size=1, learning_rate_init=0.01,
    ...     scoring="f1_macro", n_iter_no_change=3, verbose=1, random_state=0,
    ... ).fit(X_fit, y_fit, X_val=X_val, y_val=y_val)
    epoch    train_loss    valid_loss    valid_f1_macro    lr    seconds
        1  ...
    Stopped after epoch ...: valid_f1_macro did not improve by more than tol=0.0001
    for 3 consecutive epochs. Restored the weights of epoch ...
    >>> clf.history_[clf.best_epoch_ - 1]["is_best"]
    True
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
    def partial_fit(
        self,
        X,
        y,
        sample_weight=None,
        classes=None,
        X_val=None,
        y_val=None,
        sample_weight_val=None,
    ):
        """Update the model with a single epoch over the given data.

        For data that comes in chunks (a memory map, a stream, a dask array):
        each call is one epoch over its chunk, and the optimizer's state
        (velocities, Adam's moments, the learning rate) carries over from call to
        call. With ``shuffle=False`` and chunk sizes that are multiples of
        ``batch_size``, one pass over the chunks makes the updates of
        ``fit(X, y)`` with ``max_iter=1`` on their concatenation. Batches never
        straddle chunks; ``shuffle=True`` shuffles within each chunk.

        Each call adds a record to ``history_`` and calls ``callbacks`` (without
        their ``on_train_begin``/``on_train_end``). Given ``X_val`` and
        ``y_val`` (pass the same set on every call), the call scores them as
        ``fit`` scores each epoch (``scoring``), keeps the best call's weights
        and counts the patience (``n_iter_no_change``, ``tol``); otherwise the
        training loss is watched. ``stop_training_`` tells the calling loop when
        to stop, and ``restore_best_epoch`` puts the best weights back at the
        end. Only for
        ``solver="sgd"`` and ``"adam"``, and not with ``early_stopping=True``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_classes)
            The target labels (a label indicator matrix for multi-label
            classification).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples, as for ``fit``.
        classes : array-like of shape (n_classes,), default=None
            Every class across all calls; required on the first call (it sets
            ``classes_``), ignored on later ones. A ``class_weight`` dict is
            applied over these classes; ``class_weight="balanced"`` is refused.
        X_val : {array-like, sparse matrix} of shape (n_val_samples, \
n_features), default=None
            Validation data to score after this call's epoch, as for ``fit``.
        y_val : array-like of shape (n_val_samples,) or (n_val_samples, \
n_outputs), default=None
            Targets of ``X_val``; required with it.
        sample_weight_val : array-like of shape (n_val_samples,), default=None
            Weights of the validation samples, as for ``fit``.

        Returns
        -------
        object
            The updated estimator itself.

        See Also
        --------
        fit : Train for up to ``max_iter`` epochs, with early stopping.
        restore_best_epoch : Put the best call's weights back.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.datasets import load_iris
        >>> from sklearn.preprocessing import StandardScaler
        >>> from fastsgd import MLPClassifier
        >>> X, y = load_iris(return_X_y=True)
        >>> X = StandardScaler().fit_transform(X)
        >>> rng = np.random.RandomState(0)
        >>> order = rng.permutation(len(y))  # chunks in random order
        >>> clf = MLPClassifier((8,), solver="sgd", batch_size=1,
        ...                     learning_rate_init=0.01, random_state=0)
        >>> for epoch in range(10):
        ...     for chunk in np.array_split(order, 3):
        ...         clf = clf.partial_fit(X[chunk], y[chunk], classes=[0, 1, 2])
        >>> len(clf.history_)  # one record per call
        30
        >>> clf.score(X, y) > 0.9
        True
        """
        self._validate_params()
        if _check_partial_fit_first_call(self, classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
        return self._fit(
            X, y, sample_weight, X_val, y_val, sample_weight_val, incremental=True
        )

    def predict_proba(self, X):
        """Probability estimates.

        The network's outputs: softmax probabilities for multi-class targets;
        for binary targets the single logistic output ``p`` as the two columns
        ``1 - p`` and ``p``; for multi-label targets one logistic output per
        label (they need not sum to one).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            The probability of each class, in the order of ``classes_``, in the
            model's dtype.

        See Also
        --------
        predict : The most probable classes.
        predict_log_proba : The logarithm of these probabilities.

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from sklearn.preprocessing import StandardScaler
        >>> from fastsgd import MLPClassifier
        >>> X, y = load_iris(return_X_y=True)
        >>> X = StandardScaler().fit_transform(X)
        >>> clf = MLPClassifier((8,), solver="sgd", batch_size=1,
        ...                     learning_rate_init=0.01, max_iter=50,
        ...                     random_state=0).fit(X, y)
        >>> proba = clf.predict_proba(X[:2])
        >>> proba.shape
        (2, 3)
        >>> proba.sum(axis=1).round(6)
        array([1., 1.])
        """
        return self._proba_from_output(self._forward(X))

    def predict_log_proba(self, X):
        """Log of probability estimates.

        The natural logarithm of :meth:`predict_proba`, computed in place on its
        result.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            ``log(predict_proba(X))``, in the order of ``classes_``.

        See Also
        --------
        predict_proba : The probabilities themselves.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.datasets import load_iris
        >>> from sklearn.preprocessing import StandardScaler
        >>> from fastsgd import MLPClassifier
        >>> X, y = load_iris(return_X_y=True)
        >>> X = StandardScaler().fit_transform(X)
        >>> clf = MLPClassifier((8,), solver="sgd", batch_size=1,
        ...                     learning_rate_init=0.01, max_iter=50,
        ...                     random_state=0).fit(X, y)
        >>> np.allclose(np.exp(clf.predict_log_proba(X)), clf.predict_proba(X))
        True
        """
        y_prob = self.predict_proba(X)
        return np.log(y_prob, out=y_prob)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, BaseMLP):
    """Multi-layer perceptron regressor trained by compiled SGD kernels.

    A drop-in for scikit-learn's ``sklearn.neural_network.MLPRegressor``: every
    parameter, default and fitted attribute is scikit-learn's, the same
    ``random_state`` draws the same initial weights, shuffles and
    early-stopping split, and an epoch from the same weights on the same sample
    order makes scikit-learn's updates, to floating-point rounding. The epochs
    run in compiled code (one call per epoch, without the GIL), so the same fit
    is many times faster, most of all on-line (``batch_size=1``).

    What fastsgd adds, as for :class:`MLPClassifier` (class weights aside):
    early stopping on any metric (``scoring``) and on a validation set of your
    own (``fit(X, y, X_val=..., y_val=...)``), the best epoch's weights kept
    (``restore_best_weights``), a per-epoch log (``verbose``) and record
    (``history_``), callbacks, ``batch_size="full"``, float32 training for
    float32 data, scipy sparse input, and export to and from scikit-learn
    (``to_sklearn``, ``from_sklearn``).

    Parameters
    ----------
    loss : {"squared_error", "poisson"}, default="squared_error"
        The loss to minimise: half the mean squared error with an identity
        output, or half the Poisson deviance with an exp output (for
        non-negative targets such as counts), as in scikit-learn.
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        The ith element is the number of units in the ith hidden layer; an int
        is one hidden layer. Widths must be positive integers.
    activation : {"identity", "logistic", "tanh", "relu"}, default="relu"
        Activation of the hidden layers: ``f(x) = x``, the logistic sigmoid,
        ``tanh`` or ``max(0, x)``.
    solver : {"lbfgs", "sgd", "adam"}, default="adam"
        The weight optimizer. "sgd" is stochastic gradient descent (with
        ``momentum``), "adam" is Kingma and Ba's Adam, both run by compiled
        epoch kernels; "lbfgs" is scipy's L-BFGS-B on the full-batch loss and
        gradient (computed by the same kernels), which has no epochs: no
        validation set, ``history_``, ``verbose`` rows or callbacks.
    alpha : float, default=0.0001
        Strength of the L2 penalty. As in scikit-learn, ``alpha * W`` (the
        weights, not the intercepts) is added to a batch's summed gradient,
        which is then divided by the batch's sample-weight sum.
    batch_size : int, "auto" or "full", default="auto"
        Samples per update for "sgd" and "adam". "auto" is
        ``min(200, n_samples)``; a size above ``n_samples`` is clipped, with a
        warning, as in scikit-learn. fastsgd adds "full": one update per epoch
        over the whole training set (its gradient is summed over row chunks, so
        memory stays bounded). ``batch_size=1`` is on-line training, fastsgd's
        fastest path (scikit-learn's slowest).
    learning_rate : {"constant", "invscaling", "adaptive", "plateau"}, \
default="constant"
        Learning-rate schedule for ``solver="sgd"`` (Adam keeps
        ``learning_rate_init``, except under "plateau"). "constant" keeps
        ``learning_rate_init``.
        "invscaling" sets it to ``learning_rate_init / (t_ + 1) ** power_t``
        after each epoch. "adaptive" keeps it until the monitored value (see
        ``n_iter_no_change``) fails to improve for more than
        ``n_iter_no_change`` epochs, then divides it by 5, and stops once it is
        1e-6 or less. In fastsgd the monitored value is the one early stopping
        watches: the ``scoring`` metric on the validation set when there is
        one, the training loss otherwise. fastsgd adds "plateau", for "sgd" and
        "adam": scikit-learn's adaptive rule as its documentation states it,
        on that same watched value: after two epochs in a row without an
        improvement above ``tol`` the rate (Adam's ``learning_rate_init``) is
        divided by 5, and training stops once it is 1e-6 or less; early
        stopping's patience (``n_iter_no_change``) still applies. Each drop is
        in ``history_`` (``lr_dropped``) and the verbose log.
    learning_rate_init : float, default=0.001
        The initial learning rate ("sgd" and "adam"), in scikit-learn's
        convention: the step applies to the mean gradient of a batch.
    power_t : float, default=0.5
        The exponent of the "invscaling" schedule.
    max_iter : int, default=200
        The most epochs a ``fit`` runs ("sgd", "adam"; ``partial_fit`` runs one),
        or the most L-BFGS iterations ("lbfgs").
    shuffle : bool, default=True
        Whether to shuffle the training samples before each epoch ("sgd",
        "adam"); the permutation is the one scikit-learn draws from the same
        ``random_state``. ``partial_fit`` shuffles within each call's data.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights, the shuffles and the early-stopping split,
        drawn by the same calls as scikit-learn's (so the same values). Pass an
        int for reproducible fits.
    tol : float, default=1e-4
        Tolerance of the stopping rule, as in scikit-learn: an epoch counts as an
        improvement when the monitored value beats the best so far by more than
        ``tol`` (a score must rise, a loss must fall). fastsgd monitors the
        ``scoring`` metric on the validation set, or the training loss without
        one. For ``solver="lbfgs"`` it is L-BFGS's gradient tolerance.
    verbose : bool or int, default=False
        Print one aligned row per epoch as it ends (epoch, training loss,
        validation loss and monitored score with ``*`` on the best value,
        learning rate, seconds), then a line saying why training stopped and
        which epoch's weights were kept. scikit-learn prints one loss per epoch.
        ``solver="lbfgs"`` prints nothing.
    warm_start : bool, default=False
        When True, ``fit`` goes on from the weights of the previous fit (which
        may have been written into ``coefs_`` and ``intercepts_``), with the same
        layer widths; ``history_`` goes on counting epochs. The
        optimizer's state starts afresh, as in scikit-learn.
    momentum : float, default=0.9
        Momentum of the "sgd" updates, between 0 and 1. 0 is plain SGD, the
        cheapest update; on sparse input with ``alpha=0`` an on-line step then
        touches only the first-layer weights of the sample's non-zeros.
    nesterovs_momentum : bool, default=True
        Whether "sgd" with momentum uses Nesterov's momentum.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data as scikit-learn
        does (the same rows), score it after each
        epoch and stop when the monitored score stops improving (see
        ``n_iter_no_change``), keeping the best epoch's weights. Only for "sgd"
        and "adam", not for ``partial_fit``. A validation set passed to ``fit``
        as ``X_val``/``y_val`` is monitored in the same way, and no data is held
        out, whatever this parameter says.
    validation_fraction : float, default=0.1
        The fraction of the training data held out by ``early_stopping`` (when
        no ``X_val`` is passed to ``fit``), strictly between 0 and 1.
    beta_1 : float, default=0.9
        Exponential decay rate of Adam's first-moment estimates, in [0, 1).
    beta_2 : float, default=0.999
        Exponential decay rate of Adam's second-moment estimates, in [0, 1).
    epsilon : float, default=1e-8
        Adam's value for numerical stability.
    n_iter_no_change : int or np.inf, default=10
        Patience ("sgd", "adam"): training stops (or, with
        ``learning_rate="adaptive"``, the rate is divided by 5) when the
        monitored value has not improved by more than ``tol`` for more than
        ``n_iter_no_change`` consecutive epochs. As in scikit-learn, the value
        is the validation score when a validation set is watched and the
        training loss otherwise; in fastsgd the score is the ``scoring``
        metric. ``np.inf`` watches without stopping: every epoch up to
        ``max_iter`` runs and the best one's weights are still kept.
    max_fun : int, default=15000
        The most loss evaluations L-BFGS may make ("lbfgs" only).
    scoring : str, callable, list, dict or None, default=None
        What early stopping monitors on the validation set, and what
        ``validation_scores_`` and the ``valid_score`` of ``history_`` hold.
        None is scikit-learn's choice, R². "loss" is the validation loss
        (``loss``, lower is better). Any scikit-learn scorer name
        ("neg_mean_squared_error", "neg_mean_absolute_error",
        "neg_mean_poisson_deviance", ...) is computed from one compiled
        forward pass over the validation set per epoch. A callable
        ``scorer(estimator, X, y)`` is given the fitted estimator in its
        current state and the validation set as it was passed to ``fit`` (and
        ``sample_weight=`` when it takes that argument). Higher is better,
        except for "loss". Several metrics, as ``GridSearchCV`` takes them: a
        list of scorer names or a dict of names to scorer names or callables.
        Each is computed every epoch from the same forward pass and recorded in
        ``history_`` as ``valid_<name>`` (a column of the verbose table); the
        first one is watched. Not in scikit-learn's MLP.
    restore_best_weights : bool, default=True
        After a fit that monitored a validation set, keep the weights of the best
        epoch (``best_epoch_``), as scikit-learn does; False keeps the last
        epoch's. Without a validation set the last epoch's weights are kept
        either way. Not in scikit-learn's MLP.
    callbacks : list of callable, default=None
        Functions ``callback(estimator, record)`` called after each epoch with
        that epoch's ``history_`` record; one that returns True stops training.
        A callback may write into ``coefs_`` and ``intercepts_``, or put new
        arrays there: training goes on from them. A callback that has
        ``on_train_begin(estimator)`` or ``on_train_end(estimator)`` methods has
        them called around each ``fit`` (not around ``partial_fit`` calls).
        See :class:`fastsgd.callbacks.ProgressBar`. Not in scikit-learn's MLP.
        scikit-learn's own callback objects (``sklearn.callback``, scikit-learn
        1.9 or later: ``ProgressBar``, ``ScoringMonitor``) are registered with
        ``set_callbacks`` instead; passing one here is a ``TypeError``.

    Attributes
    ----------
    loss_ : float
        The training loss of the last epoch (or of L-BFGS's last point): the
        ``loss`` plus the L2 penalty, each batch's loss computed before its
        update, as in scikit-learn.
    best_loss_ : float or None
        The smallest value in ``loss_curve_`` when no validation set is watched;
        None when one is (see ``best_validation_score_``). Like the curves and
        scores below, set by "sgd" and "adam" only, as in scikit-learn.
    loss_curve_ : list of float
        The training loss of each epoch ("sgd", "adam").
    validation_scores_ : list of float or None
        The monitored score (``scoring``) on the validation set after each
        epoch, or None when no validation set is watched. scikit-learn records
        R² on its own split; fastsgd records the ``scoring`` metric (the
        validation loss for "loss") on the set it watched. An epoch whose
        outputs are not finite scores NaN.
    best_validation_score_ : float or None
        The best value in ``validation_scores_`` (the largest, or the smallest
        for ``scoring="loss"``), or None when no validation set is watched.
    t_ : int
        The number of training samples seen by the solver (over ``partial_fit``
        calls and warm starts).
    coefs_ : list of ndarray
        ``coefs_[i]``, of shape ``(fan_in, fan_out)``, is the weight matrix from
        layer i to layer i + 1. Views into one flat parameter buffer: writing
        into them in place changes the model (the next ``fit`` with
        ``warm_start=True`` starts from it), and so does putting new arrays in
        the list. float32 for a model trained on float32 data.
    intercepts_ : list of ndarray
        ``intercepts_[i]``, of shape ``(fan_out,)``, is the bias vector of layer
        i + 1; views into the same buffer as ``coefs_``.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features,)
        Names of the features seen during ``fit``; defined only when ``X`` has
        feature names that are all strings.
    n_iter_ : int
        The number of epochs the last ``fit`` ran (1 after ``partial_fit``), or
        L-BFGS's number of iterations.
    n_layers_ : int
        Number of layers, input and output included.
    n_outputs_ : int
        Number of outputs: the number of target columns.
    out_activation_ : str
        The output activation: "identity", or "exp" for ``loss="poisson"``.
    history_ : list of dict
        One record per epoch ("sgd", "adam"; empty for "lbfgs"), in order:
        ``epoch`` (counted from 1 over warm starts and ``partial_fit`` calls),
        ``train_loss``, ``valid_loss`` and ``valid_score`` (when a validation set
        is watched; with several ``scoring`` metrics also ``valid_<name>`` for
        each), ``learning_rate`` (the schedule's rate for that epoch; Adam's
        ``learning_rate_init``), ``seconds`` (the epoch's wall time,
        scoring included) and ``is_best`` (whether it improved on the best so
        far); under ``learning_rate="plateau"`` also ``lr_dropped`` (whether
        the rate was divided by 5 after that epoch).
        ``pandas.DataFrame(history_)`` makes a table of it. Not in
        scikit-learn's MLP.
    validation_loss_curve_ : list of float
        The validation loss after each epoch (``loss``, weighted by
        ``sample_weight_val``, without the L2 penalty), empty when no validation
        set is watched. Not in scikit-learn's MLP.
    best_epoch_ : int or None
        The epoch (as numbered in ``history_``) with the best monitored value:
        the validation score when a validation set is watched, otherwise the
        training loss. Its weights are the model's after a fit that watched a
        validation set with ``restore_best_weights=True``. None when no epoch
        improved on the start or the solver is "lbfgs". Not in scikit-learn's
        MLP.
    stop_training_ : bool
        Whether the last ``fit`` or ``partial_fit`` call ("sgd", "adam") ended
        on a stopping rule: the patience ran out (``n_iter_no_change``), the
        "plateau" rate fell to 1e-6, a callback returned True, training diverged
        or was interrupted (not when ``fit`` reached ``max_iter``). A loop of
        ``partial_fit`` calls stops when it is True, then calls
        ``restore_best_epoch``. Not in scikit-learn's MLP.

    See Also
    --------
    MLPClassifier : Multi-layer perceptron classifier trained by the same
        kernels.
    fastsgd.callbacks.ProgressBar : A progress display for long fits.
    sklearn.neural_network.MLPRegressor : The scikit-learn estimator this one
        stands in for.

    Notes
    -----
    Where fastsgd differs from scikit-learn on purpose:

    - At ``batch_size=1`` scikit-learn's update divides a sample's gradient by
      its own weight, so sample weights cancel out of on-line steps. fastsgd
      keeps that rule but warns when weights are passed with ``batch_size=1``.
    - A batch whose weights sum to zero is skipped (scikit-learn raises
      ``ZeroDivisionError``); negative sample weights are rejected.
    - A ``fit`` that fails on its arguments leaves an already fitted model
      exactly as it was. A float32 model refuses float64 values beyond
      float32's range instead of computing with infinities.
    - ``partial_fit`` is unavailable for ``solver="lbfgs"`` (scikit-learn
      exposes it and runs a full L-BFGS fit).
    - Divergence (non-finite weights or loss) is checked after every epoch.
      Without a watched validation set it raises a ``ValueError`` naming the
      epoch, and the model keeps its last finite weights. With one, training
      ends as in scikit-learn: the best epoch's weights stay (whatever
      ``restore_best_weights`` says), NaN is recorded as the last validation
      score, and a warning names the epoch; it is still a ``ValueError`` if
      even the best weights give non-finite outputs.

    Examples
    --------
    >>> from sklearn.datasets import make_friedman1
    >>> from sklearn.model_selection import train_test_split
    >>> from fastsgd import MLPRegressor
    >>> X, y = make_friedman1(n_samples=400, noise=0.5, random_state=0)
    >>> X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    >>> reg = MLPRegressor(
    ...     hidden_layer_sizes=(16,), solver="sgd", batch_size=1,
    ...     learning_rate_init=0.001, early_stopping=True, random_state=0,
    ... ).fit(X_train, y_train)
    >>> reg.predict(X_test[:2]).shape
    (2,)
    >>> reg.best_validation_score_ == max(reg.validation_scores_)  # R² here
    True
    >>> reg.score(X_test, y_test) > 0.9
    True

    Each epoch's record (``pandas.DataFrame(reg.history_)`` makes a table):

    >>> list(reg.history_[0])  # doctest: +NORMALIZE_WHITESPACE
    ['epoch', 'train_loss', 'valid_loss', 'valid_score', 'learning_rate',
     'seconds', 'is_best']
    >>> reg.history_[reg.best_epoch_ - 1]["is_best"]
    True
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
    def partial_fit(
        self, X, y, sample_weight=None, X_val=None, y_val=None, sample_weight_val=None
    ):
        """Update the model with a single epoch over the given data.

        For data that comes in chunks (a memory map, a stream, a dask array):
        each call is one epoch over its chunk, and the optimizer's state
        (velocities, Adam's moments, the learning rate) carries over from call to
        call. With ``shuffle=False`` and chunk sizes that are multiples of
        ``batch_size``, one pass over the chunks makes the updates of
        ``fit(X, y)`` with ``max_iter=1`` on their concatenation. Batches never
        straddle chunks; ``shuffle=True`` shuffles within each chunk.

        Each call adds a record to ``history_`` and calls ``callbacks`` (without
        their ``on_train_begin``/``on_train_end``). Given ``X_val`` and
        ``y_val`` (pass the same set on every call), the call scores them as
        ``fit`` scores each epoch (``scoring``), keeps the best call's weights
        and counts the patience (``n_iter_no_change``, ``tol``); otherwise the
        training loss is watched. ``stop_training_`` tells the calling loop when
        to stop, and ``restore_best_epoch`` puts the best weights back at the
        end. Only for
        ``solver="sgd"`` and ``"adam"`` (scikit-learn's regressor also offers it
        for "lbfgs", as a full fit), and not with ``early_stopping=True``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples, as for ``fit``.
        X_val : {array-like, sparse matrix} of shape (n_val_samples, \
n_features), default=None
            Validation data to score after this call's epoch, as for ``fit``.
        y_val : array-like of shape (n_val_samples,) or (n_val_samples, \
n_outputs), default=None
            Targets of ``X_val``; required with it.
        sample_weight_val : array-like of shape (n_val_samples,), default=None
            Weights of the validation samples, as for ``fit``.

        Returns
        -------
        object
            The updated estimator itself.

        See Also
        --------
        fit : Train for up to ``max_iter`` epochs, with early stopping.
        restore_best_epoch : Put the best call's weights back.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.datasets import make_friedman1
        >>> from fastsgd import MLPRegressor
        >>> X, y = make_friedman1(n_samples=400, noise=0.5, random_state=0)
        >>> reg = MLPRegressor(hidden_layer_sizes=(16,), solver="sgd",
        ...                    batch_size=1, learning_rate_init=0.001,
        ...                    random_state=0)
        >>> for epoch in range(20):
        ...     for chunk in np.array_split(np.arange(len(y)), 4):
        ...         reg = reg.partial_fit(X[chunk], y[chunk])
        >>> reg.t_  # samples seen
        8000
        >>> reg.score(X, y) > 0.8
        True
        """
        self._validate_params()
        return self._fit(
            X, y, sample_weight, X_val, y_val, sample_weight_val, incremental=True
        )
