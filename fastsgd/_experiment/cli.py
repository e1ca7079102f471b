"""Reproduce Wilson & Martinez (2003), "The general inefficiency of batch training
for gradient descent learning": train the same network with on-line (batch 1),
mini-batch and full-batch gradient descent, and compare the accuracy they reach
and how fast they reach it, in epochs and in seconds, for fastsgd and
scikit-learn.

Protocol (the experiment page of the documentation, docs/ in the source tree):
per seed, a stratified 60/20/20 train / hold-out / test split, standardized with
training statistics, and one set of initial weights shared by every batch size,
learning rate and engine. One tanh hidden layer, softmax with cross-entropy,
plain SGD at a constant learning rate (no momentum, no weight decay), reshuffled
every epoch. Hold-out accuracy is measured about every 10% of the training so
far (10 times in the first epoch); a run stops when it has not improved for
--patience epochs (or for as long as it took to reach its best, if longer); test
accuracy is read at the best hold-out point and decides nothing. The first
engine searches the learning rates for each batch size; then each batch size's
chosen rate runs again with every engine, back to back, from the same weights in
the same sample order. The target is 99% of the best hold-out accuracy reached
at each seed.

Only training is timed: fastsgd's shuffles and kernel calls; scikit-learn's fit()
minus the hold-out evaluations made inside it.

Prints progress and the summary tables, and writes report.md and PNG plots
(with matplotlib: pip install matplotlib) into --out.

examples:
  fastsgd compare                          # digits: about a minute on 2 cores
  fastsgd compare --dataset large          # 25,000 samples: a few minutes
  fastsgd compare --dataset data.csv --target label --seeds 5
"""

import argparse
import os
import shlex
import sys
import time
from pathlib import Path

from fastsgd._experiment.compare import compare_batch_sizes
from fastsgd._experiment.plots import plot
from fastsgd._experiment.report import write_report
from fastsgd._experiment.settings import (
    BATCH_SIZES,
    DATASETS,
    ENGINES,
    EVALS_PER_EPOCH,
    LEARNING_RATES,
    SETTINGS,
    TARGET_FRACTION,
    _defaults,
)
from fastsgd._experiment.summary import _distinct, summarize
from fastsgd._experiment.tables import (
    accuracy_table,
    cross_dataset_table,
    edge_notes,
    speed_table,
)
from fastsgd._platform import cpu_model, kernel_path


def _csv_list(convert):
    def parse(text):
        try:
            return [convert(item.strip()) for item in text.split(",") if item.strip()]
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def _batch_size(text):
    return "full" if text == "full" else int(text)


def add_arguments(parser):
    """Add ``fastsgd compare``'s options to an argparse (sub-)parser."""
    parser.add_argument(
        "--dataset",
        default="digits",
        metavar="NAME",
        help=f"{', '.join(DATASETS)}, or a CSV file with a header row (then give "
        "--target); several names separated by commas compare across datasets "
        "too (e.g. digits,digits-x10). large: 25,000 synthetic samples of 64 "
        "features and 10 classes; digits-x10: digits with its training rows "
        "repeated 10 times. Default: digits.",
    )
    parser.add_argument(
        "--target",
        metavar="COLUMN",
        help="the label column of a CSV dataset (every other column must be numeric)",
    )
    parser.add_argument(
        "--batch-sizes",
        type=_csv_list(_batch_size),
        metavar="LIST",
        default=list(BATCH_SIZES),
        help="comma-separated batch sizes; 'full' is the whole training set. "
        "Default: 1,8,32,128,full.",
    )
    parser.add_argument(
        "--learning-rates",
        type=_csv_list(float),
        metavar="LIST",
        default=list(LEARNING_RATES),
        help="comma-separated learning rates (mean-gradient convention) searched for "
        "each batch size, largest first. Default: half-decades 0.001,...,10.",
    )
    parser.add_argument(
        "--seeds",
        type=int,
        default=None,
        metavar="N",
        help="number of seeds (0..N-1), each with its own split, initial weights and "
        "shuffles. Default: 3 (2 for large); 2 more with --full.",
    )
    parser.add_argument(
        "--search-seeds",
        type=int,
        metavar="N",
        help="search the learning rates on the first N seeds only; every seed then "
        "runs at the chosen rates. Default: 1 for large, all seeds otherwise.",
    )
    parser.add_argument(
        "--hidden",
        type=int,
        metavar="UNITS",
        help="hidden units. Default: 64 for digits and large, 32 otherwise.",
    )
    parser.add_argument(
        "--max-epochs",
        type=int,
        metavar="N",
        help="epoch cap per run. Default per dataset: "
        + ", ".join(f"{k} {v.max_epochs}" for k, v in SETTINGS.items())
        + ".",
    )
    parser.add_argument(
        "--patience",
        type=int,
        metavar="EPOCHS",
        help="stop a run after this many epochs without a better hold-out accuracy "
        "(or as many epochs as it took to reach its best, if more). "
        "Default per dataset: "
        + ", ".join(f"{k} {v.patience}" for k, v in SETTINGS.items())
        + ".",
    )
    parser.add_argument(
        "--budget",
        type=float,
        metavar="SECONDS",
        help="training seconds each run of the engines after the first may take "
        "(they also stop once they match the first engine's best hold-out "
        "accuracy); runs cut short before the target report a projected time. "
        "0: no budget. Default: 30 for large and digits-x10, none otherwise.",
    )
    parser.add_argument(
        "--engines",
        type=_csv_list(str),
        default=list(ENGINES),
        metavar="LIST",
        help="comma-separated engines among fastsgd,sklearn; the first searches the "
        "learning rates, the others run at each batch size's chosen rate from "
        "the same weights. Default: fastsgd,sklearn.",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        metavar="N",
        help="BLAS threads for every engine (threadpoolctl); 0 leaves the library "
        "default. Default: 1, so that seconds compare single-core work.",
    )
    parser.add_argument(
        "--evals-per-epoch",
        type=int,
        default=EVALS_PER_EPOCH,
        metavar="N",
        help="hold-out evaluations in the first epoch; later about N / epoch, at "
        "least one. Default: 10.",
    )
    parser.add_argument(
        "--exhaustive",
        action="store_true",
        help="run every learning rate, even below two rates that already did worse",
    )
    parser.add_argument(
        "--full",
        action="store_true",
        help=f"every dataset ({', '.join(DATASETS)}) with 2 more seeds each",
    )
    parser.add_argument(
        "--out",
        default="fastsgd-report",
        metavar="DIR",
        help="folder for report.md and the PNG plots. Default: ./fastsgd-report/",
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=1, help="also print one line per run"
    )
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_const",
        const=0,
        dest="verbose",
        help="print only the summary",
    )


def run(args):
    """Run ``fastsgd compare`` with parsed arguments; returns the exit code."""
    started = time.perf_counter()
    print(f"fastsgd compare on {cpu_model()}; {kernel_path()}", flush=True)
    if args.full:
        datasets = list(DATASETS)
    elif os.path.exists(args.dataset):
        datasets = [args.dataset]
    else:
        datasets = [d.strip() for d in args.dataset.split(",") if d.strip()]
    try:
        for name in datasets:
            if name not in DATASETS and not os.path.exists(name):
                raise ValueError(
                    f"unknown dataset {name!r}: use one of "
                    f"{', '.join(DATASETS)} or the path of a CSV file"
                )
        runs = []
        for name in datasets:
            seeds = args.seeds
            if seeds is None and args.full:
                seeds = _defaults(name).seeds + 2
            runs += compare_batch_sizes(
                name,
                batch_sizes=args.batch_sizes,
                learning_rates=args.learning_rates,
                seeds=seeds,
                hidden=args.hidden,
                max_epochs=args.max_epochs,
                patience=args.patience,
                budget=args.budget,
                search_seeds=args.search_seeds,
                engines=args.engines,
                threads=args.threads or None,
                evals_per_epoch=args.evals_per_epoch,
                exhaustive=args.exhaustive,
                target=args.target,
                verbose=args.verbose,
                as_frame=False,
            )
    except ValueError as exc:
        print(f"fastsgd compare: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nfastsgd compare: interrupted", file=sys.stderr)
        return 130
    wall = time.perf_counter() - started
    summary = summarize(runs)
    summarized = _distinct(summary, "dataset")
    for dataset in summarized:
        print()
        print(
            f"{dataset}: accuracy and learning rates (chosen on hold-out; "
            "mean ± sd over seeds)"
        )
        print(accuracy_table(summary, dataset))
        for note in edge_notes(summary, dataset):
            print(f"note: {note}")
        print()
        print(
            f"{dataset}: to {100 * TARGET_FRACTION:g}% of the best hold-out "
            "accuracy (training seconds only)"
        )
        print(speed_table(summary, dataset))
    across = cross_dataset_table(summary) if len(summarized) > 1 else None
    if across is not None:
        print()
        print("on-line against full batch (fastsgd)")
        print(across)
    out = Path(args.out)
    plots, note = [], None
    try:
        for dataset in summarized:
            plots += plot(runs, out, dataset)
    except ImportError:
        note = (
            "matplotlib is not installed: skipped the plots "
            '(pip install "fastsgd[plot]").'
        )
    argv = sys.argv[1:]
    command = None
    if "compare" in argv:
        command = "fastsgd " + " ".join(
            shlex.quote(a) for a in argv[argv.index("compare") :]
        )
    report = write_report(
        runs, out, plots=plots, command=command, wall_seconds=wall, plot_note=note
    )
    print()
    if note:
        print(note)
    print(
        f"wrote {report}" + "".join(f", {p.name}" for p in plots) + f" ({wall:.0f} s)"
    )
    return 0
