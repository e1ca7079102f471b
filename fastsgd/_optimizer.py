"""Update rules: scikit-learn's ``SGDOptimizer`` and ``AdamOptimizer`` as settings
and named state (velocity; Adam's m, v and step count) in flat buffers laid out like
the parameters, with scikit-learn's learning-rate schedules.

The kernels apply a rule through ``_kernels.UpdateRule``, built by
``Optimizer.update_rule`` for each call; the rules themselves are the C loops.
"""

from fastsgd import _kernels, _parameters


class Optimizer:
    """scikit-learn's SGDOptimizer or AdamOptimizer, with its state in flat buffers.

    Like scikit-learn's, it is created by ``fit`` and kept by ``partial_fit``, and
    it keeps the hyper-parameters it was created with.

    Parameters
    ----------
    solver : {"sgd", "adam"}
    n_params : int
        Size of the flat parameter buffer.
    dtype : numpy dtype
    learning_rate_init, lr_schedule, momentum, nesterovs_momentum, power_t,
    beta_1, beta_2, epsilon
        The estimator's parameters of the same names (``lr_schedule`` is its
        ``learning_rate``).

    Attributes
    ----------
    rule : {"sgd", "momentum", "nesterov", "adam"}
        The update rule the kernels apply.
    state : dict of str to ndarray
        The rule's buffers by name: ``velocity``, or Adam's ``m`` and ``v``.
    t : int
        Adam's update count.
    plateau_count : int
        Epochs in a row without improvement, for ``learning_rate="plateau"``.
    learning_rate : float
        The schedule's current rate (Adam: the last step's bias-corrected rate,
        as scikit-learn's ``AdamOptimizer.learning_rate``).
    """

    def __init__(
        self,
        solver,
        n_params,
        dtype,
        *,
        learning_rate_init,
        lr_schedule,
        momentum,
        nesterovs_momentum,
        power_t,
        beta_1,
        beta_2,
        epsilon,
    ):
        if solver == "adam":
            self.rule = "adam"
        elif momentum == 0:
            self.rule = "sgd"
        else:
            self.rule = "nesterov" if nesterovs_momentum else "momentum"
        self.solver = solver
        self.learning_rate_init = float(learning_rate_init)
        self.learning_rate = float(learning_rate_init)
        self.lr_schedule = lr_schedule
        self.momentum = float(momentum)
        self.power_t = float(power_t)
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)
        self.epsilon = float(epsilon)
        self.t = 0
        self.plateau_count = 0
        self.state = {
            name: _parameters.zeros_aligned(n_params, dtype)
            for name in _kernels.STATE_NAMES[self.rule]
        }

    def __setstate__(self, state):
        if "states" in state:  # pickled by fastsgd 0.1.0 before the state had names
            buffers = state.pop("states")
            names = _kernels.STATE_NAMES[state["rule"]]
            state["state"] = dict(zip(names, buffers, strict=True))
        state.setdefault("plateau_count", 0)  # pickled before "plateau" existed
        self.__dict__.update(state)

    @property
    def epoch_learning_rate(self):
        """The rate the schedule set for the next epoch (Adam: the rate before its
        bias correction, which is what users set and what a log should show)."""
        return self.learning_rate_init if self.rule == "adam" else self.learning_rate

    def own_writeable_state(self):
        """Copy state buffers that are read-only (a model loaded with
        ``joblib.load(..., mmap_mode="r")``) or misaligned: the kernels write into
        them."""
        self.state = {
            name: _parameters.writeable_aligned(buffer)
            for name, buffer in self.state.items()
        }

    def update_rule(self, alpha):
        """The kernels' update rule for the next call: these settings, this state
        (shared, not copied), and the L2 penalty ``alpha``."""
        return _kernels.UpdateRule(
            self.rule,
            learning_rate=self.epoch_learning_rate,
            momentum=self.momentum,
            beta_1=self.beta_1,
            beta_2=self.beta_2,
            epsilon=self.epsilon,
            alpha=alpha,
            step=self.t,
            **self.state,
        )

    def steps_taken(self, rule):
        """Take the step count (and Adam's rate) from a kernel call's ``rule``."""
        self.t = rule.step
        if self.rule == "adam":
            self.learning_rate = rule.last_learning_rate

    def iteration_ends(self, time_step):
        """After an epoch: the ``invscaling`` schedule (``time_step`` is ``t_``)."""
        if self.solver == "sgd" and self.lr_schedule == "invscaling":
            self.learning_rate = (
                self.learning_rate_init / (time_step + 1) ** self.power_t
            )

    def trigger_stopping(self):
        """No improvement for ``n_iter_no_change`` epochs: stop, or (``adaptive``)
        divide the learning rate by 5. Returns ``(stop, what was done)``."""
        if self.solver != "sgd" or self.lr_schedule != "adaptive":
            return True, ""
        if self.learning_rate <= 1e-6:
            return True, "learning rate too small"
        self.learning_rate /= 5.0
        return False, f"learning rate set to {self.learning_rate:g}"

    def plateau(self, improved):
        """``learning_rate="plateau"`` after an epoch: scikit-learn's ``adaptive``
        rule, as its documentation states it, on the watched value. After two
        epochs in a row that did not improve it by more than ``tol``, the rate is
        divided by 5 (Adam's ``learning_rate_init``, which its step uses), or,
        when it is 1e-6 or less already, training stops.

        Returns ``"dropped"``, ``"stop"`` or None (nothing to do).
        """
        if self.lr_schedule != "plateau":
            return None
        self.plateau_count = 0 if improved else self.plateau_count + 1
        if self.plateau_count < 2:
            return None
        self.plateau_count = 0
        if self.epoch_learning_rate <= 1e-6:
            return "stop"
        if self.rule == "adam":
            self.learning_rate_init /= 5.0
        else:
            self.learning_rate /= 5.0
        return "dropped"
