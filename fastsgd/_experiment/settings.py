"""The experiment's grid and defaults: batch sizes, learning rates, engines,
bundled datasets, the target fraction, and each dataset's ``Settings`` (hidden
units, epoch cap, patience, seeds, time budget, search seeds), with how
explicit arguments override them."""

from dataclasses import dataclass

BATCH_SIZES = (1, 8, 32, 128, "full")
# Half-decades from 0.001 to 10.
LEARNING_RATES = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
DATASETS = ("digits", "iris", "wine", "breast_cancer", "large", "digits-x10")
ENGINES = ("fastsgd", "sklearn")
TARGET_FRACTION = 0.99
EVALS_PER_EPOCH = 10


@dataclass(frozen=True)
class Settings:
    """Per-dataset defaults: hidden units, epoch cap, patience (in epochs), seeds,
    the time budget in training seconds of each run of the engines that follow
    the search (None: no budget), and how many of the seeds the learning-rate
    search runs on (None: all)."""

    hidden: int
    max_epochs: int
    patience: int
    seeds: int = 3
    budget: float | None = None
    search_seeds: int | None = None  # None: search on every seed


# Measured on a 2-core machine so that each dataset's default run takes about a
# minute (digits) or a few minutes (large, digits-x10). On large, scikit-learn's
# on-line epoch alone takes seconds: its runs get a time budget.
SETTINGS = {
    "digits": Settings(hidden=64, max_epochs=200, patience=10),
    "iris": Settings(hidden=32, max_epochs=1000, patience=50),
    "wine": Settings(hidden=32, max_epochs=1000, patience=50),
    "breast_cancer": Settings(hidden=32, max_epochs=500, patience=30),
    "large": Settings(
        hidden=64, max_epochs=100, patience=5, seeds=2, budget=30.0, search_seeds=1
    ),
    "digits-x10": Settings(hidden=64, max_epochs=100, patience=5, budget=30.0),
    "csv": Settings(hidden=32, max_epochs=300, patience=20),
}


def _defaults(dataset):
    """The ``Settings`` of a bundled dataset; any other name is a CSV file's."""
    return SETTINGS.get(dataset, SETTINGS["csv"])


def _resolve_settings(
    dataset, hidden, max_epochs, patience, seeds, budget, search_seeds
):
    """``dataset``'s defaults, overridden by the arguments that are not None."""
    base = _defaults(dataset)
    return Settings(
        hidden=base.hidden if hidden is None else int(hidden),
        max_epochs=base.max_epochs if max_epochs is None else int(max_epochs),
        patience=base.patience if patience is None else int(patience),
        seeds=base.seeds if seeds is None else seeds,
        budget=base.budget if budget is None else (float(budget) or None),
        search_seeds=base.search_seeds if search_seeds is None else search_seeds,
    )
