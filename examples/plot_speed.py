"""
Seconds per epoch against scikit-learn
======================================

The same network, the same data and the same updates in both libraries: five
epochs of ``solver="sgd"`` (Nesterov momentum, scikit-learn's default) on 1,000
rows of digits at batch sizes 1, 32 and the full training set, timed for
scikit-learn's ``MLPClassifier`` and fastsgd's (the best of two fits). At batch
size 1 scikit-learn runs a Python loop per sample; fastsgd runs one compiled
call per epoch. ``fastsgd bench`` measures larger workloads.
"""

# %%
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn import neural_network
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

import fastsgd

X, y = load_digits(return_X_y=True)
X, y = StandardScaler().fit_transform(X[:1000]), y[:1000]
EPOCHS = 5


def seconds_per_epoch(estimator_class, batch_size, repeats=2):
    """The best of ``repeats`` fits of ``EPOCHS`` epochs, per epoch."""
    best = np.inf
    for _ in range(repeats):
        model = estimator_class(
            (64,),
            solver="sgd",
            batch_size=batch_size,
            learning_rate_init=0.01,
            max_iter=EPOCHS,
            n_iter_no_change=np.inf,  # run every epoch
            random_state=0,
        )
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # EPOCHS is the plan
            model.fit(X, y)
        best = min(best, time.perf_counter() - start)
    return best / EPOCHS


batch_sizes = [1, 32, len(X)]
labels = ["1", "32", "full"]
timings = {
    "scikit-learn": [
        seconds_per_epoch(neural_network.MLPClassifier, b) for b in batch_sizes
    ],
    "fastsgd": [seconds_per_epoch(fastsgd.MLPClassifier, b) for b in batch_sizes],
}
for label, sk, fast in zip(
    labels, timings["scikit-learn"], timings["fastsgd"], strict=True
):
    print(
        f"batch {label:>4}: scikit-learn {1e3 * sk:7.1f} ms, "
        f"fastsgd {1e3 * fast:6.2f} ms  ({sk / fast:.0f}x)"
    )

# %%
# Whole fits are timed, input checks included, on a small problem: the ratios are
# smaller than those of ``fastsgd bench``, which times the epochs alone.
x = np.arange(len(batch_sizes))
fig, ax = plt.subplots(figsize=(6, 3.5), layout="constrained")
for i, (library, values) in enumerate(timings.items()):
    ax.bar(x + (i - 0.5) * 0.4, 1e3 * np.array(values), width=0.4, label=library)
ax.set_xticks(x, [f"batch {label}" for label in labels])
ax.set_yscale("log")
ax.set_ylabel("milliseconds per epoch (log scale)")
ax.set_title(f"digits, {X.shape[0]} x {X.shape[1]}, hidden (64,)")
ax.legend()
plt.show()
