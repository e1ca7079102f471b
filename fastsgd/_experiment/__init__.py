"""``fastsgd compare``: Wilson & Martinez (2003) reproduced, on-line against
mini-batch against full-batch training, in epochs and in seconds, for fastsgd
and scikit-learn.

The package, in the order the work flows:

- ``settings``: the grid (batch sizes, learning rates, engines), the bundled
  datasets and each one's defaults.
- ``data``: loading a dataset; each seed's stratified, standardized split.
- ``runs``: one training run of one engine, with its hold-out curve.
- ``compare``: the learning-rate search, targets, the choice of a rate and the
  timing runs (``compare_batch_sizes``).
- ``summary``: the per-batch-size summary of the runs (``summarize``).
- ``tables``, ``claims`` (the paper's four claims), ``plots``, ``report``:
  what is shown of it.
- ``cli``: the command line (its docstring is ``fastsgd compare --help``).
"""

from fastsgd._experiment.claims import findings
from fastsgd._experiment.compare import compare_batch_sizes
from fastsgd._experiment.data import Split, load_dataset, split_dataset
from fastsgd._experiment.plots import plot
from fastsgd._experiment.report import write_report
from fastsgd._experiment.runs import initial_weights
from fastsgd._experiment.settings import (
    BATCH_SIZES,
    DATASETS,
    ENGINES,
    EVALS_PER_EPOCH,
    LEARNING_RATES,
    SETTINGS,
    TARGET_FRACTION,
    Settings,
)
from fastsgd._experiment.summary import summarize
from fastsgd._experiment.tables import (
    accuracy_table,
    cross_dataset_table,
    edge_notes,
    speed_table,
)

__all__ = [
    "BATCH_SIZES",
    "DATASETS",
    "ENGINES",
    "EVALS_PER_EPOCH",
    "LEARNING_RATES",
    "SETTINGS",
    "TARGET_FRACTION",
    "Settings",
    "Split",
    "accuracy_table",
    "compare_batch_sizes",
    "cross_dataset_table",
    "edge_notes",
    "findings",
    "initial_weights",
    "load_dataset",
    "plot",
    "speed_table",
    "split_dataset",
    "summarize",
    "write_report",
]
