"""
Watching training: your validation set, your metric
===================================================

scikit-learn's MLP stops on the accuracy of a split it makes itself and prints
one loss per epoch. fastsgd monitors the metric you choose (here macro-averaged
F1) on the validation set you pass to ``fit``, prints a row per epoch, records
it in ``history_`` and keeps the weights of the best epoch.
"""

# %%
# Digits, standardized, with a validation set of our own
# -------------------------------------------------------
# The test set is split off first and is not touched until the end.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from fastsgd import MLPClassifier

X, y = load_digits(return_X_y=True)
X_rest, X_test, y_rest, y_test = train_test_split(X, y, stratify=y, random_state=0)
X_train, X_val, y_train, y_val = train_test_split(
    X_rest, y_rest, stratify=y_rest, random_state=0
)
scaler = StandardScaler().fit(X_train)
X_train, X_val, X_test = (scaler.transform(a) for a in (X_train, X_val, X_test))

# %%
# On-line training, watched on F1
# -------------------------------
# ``verbose=1`` prints one row per epoch; ``*`` marks a new best. Training stops
# when F1 has not improved by more than ``tol`` for more than
# ``n_iter_no_change`` epochs, and the best epoch's weights are restored.
clf = MLPClassifier(
    (64,),
    activation="tanh",
    solver="sgd",
    batch_size=1,
    learning_rate_init=0.003,
    momentum=0,
    scoring="f1_macro",
    n_iter_no_change=4,
    verbose=1,
    random_state=0,
)
clf.fit(X_train, y_train, X_val=X_val, y_val=y_val)
print(f"best epoch: {clf.best_epoch_}, test accuracy: {clf.score(X_test, y_test):.3f}")

# %%
# The history, plotted
# --------------------
# ``history_`` holds every printed value (``pandas.DataFrame(clf.history_)``
# makes a table of it).
epochs = np.array([r["epoch"] for r in clf.history_])
train_loss = [r["train_loss"] for r in clf.history_]
valid_loss = [r["valid_loss"] for r in clf.history_]
valid_f1 = [r["valid_score"] for r in clf.history_]

fig, (ax_loss, ax_f1) = plt.subplots(1, 2, figsize=(9, 3.5), layout="constrained")
ax_loss.plot(epochs, train_loss, "o-", label="training loss")
ax_loss.plot(epochs, valid_loss, "o-", label="validation loss")
ax_loss.set_xlabel("epoch")
ax_loss.set_ylabel("log loss")
ax_loss.legend()
ax_f1.plot(epochs, valid_f1, "o-", color="C2")
ax_f1.axvline(clf.best_epoch_, color="gray", linestyle="--", label="best epoch (kept)")
ax_f1.set_xlabel("epoch")
ax_f1.set_ylabel("validation F1 (macro)")
ax_f1.legend()
plt.show()
