"""
On-line, mini-batch or full batch?
==================================

A small run of the experiment behind ``fastsgd compare`` (Wilson & Martinez,
2003): the same network, from the same initial weights, trained with batch sizes
1, 32 and the full training set, each at the best of a few learning rates, on
scikit-learn's digits. One seed and fastsgd alone keep it to a few seconds;
``fastsgd compare`` runs three seeds, more batch sizes and scikit-learn beside
fastsgd.
"""

# %%
# The comparison
# --------------
# ``compare_batch_sizes`` searches the learning rates for each batch size on the
# hold-out set and returns one row per training run (a list of dicts here).
import matplotlib.pyplot as plt

from fastsgd import compare_batch_sizes

runs = compare_batch_sizes(
    "digits",
    batch_sizes=[1, 32, "full"],
    learning_rates=[0.01, 0.03, 0.1, 0.3, 1, 3],
    seeds=1,
    engines=["fastsgd"],
    verbose=0,
    as_frame=False,
)
chosen = [r for r in runs if r["chosen"]]
for r in chosen:
    print(
        f"batch {r['batch']:>4}: learning rate {r['learning_rate']:g}, "
        f"{r['epochs_to_target']:.2g} epochs and {1e3 * r['seconds_to_target']:.2g} ms "
        f"to the target, test accuracy {r['test_at_best']:.3f}"
    )

# %%
# Hold-out accuracy against epochs and against seconds
# ----------------------------------------------------
# On-line training needs far fewer epochs than full batch; with compiled loops
# an on-line epoch costs about what a mini-batch epoch does.
fig, (ax_epochs, ax_seconds) = plt.subplots(
    1, 2, figsize=(9, 3.5), sharey=True, layout="constrained"
)
for r in chosen:
    curve = r["curve"]
    label = f"batch {r['batch']} (lr {r['learning_rate']:g})"
    ax_epochs.plot(curve["epoch"], curve["holdout"], label=label)
    ax_seconds.plot(curve["seconds"], curve["holdout"], label=label)
ax_epochs.set_xscale("log")
ax_epochs.set_xlabel("epochs")
ax_epochs.set_ylabel("hold-out accuracy")
ax_seconds.set_xscale("log")
ax_seconds.set_xlabel("training seconds")
ax_epochs.set_ylim(0.5, 1)
ax_epochs.legend()
plt.show()
