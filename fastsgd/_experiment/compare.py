"""The comparison (``compare_batch_sizes``): for each dataset and batch size,
the search over learning rates, each seed's target, the choice of a learning
rate, the timing runs of every engine at the chosen rates, the projections of
runs cut short by their time budget, and the progress lines."""

import math
import os
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from fastsgd._experiment.data import load_dataset, split_dataset
from fastsgd._experiment.runs import _batch_label, _Problem, _run
from fastsgd._experiment.settings import (
    BATCH_SIZES,
    DATASETS,
    ENGINES,
    EVALS_PER_EPOCH,
    LEARNING_RATES,
    TARGET_FRACTION,
    _resolve_settings,
)

# -- choosing the learning rate, targets -----------------------------------------------


def _first_reach(curve, target):
    """Index of the first evaluation at or above ``target``, or None."""
    hits = np.flatnonzero(curve["holdout"] >= target - 1e-12)
    return int(hits[0]) if hits.size else None


def _targets(rows, engine):
    """Each seed's target: a fraction of the best hold-out accuracy any run of
    ``engine`` reached at that seed."""
    best = {}
    for r in rows:
        if r["engine"] == engine and not r["diverged"]:
            best[r["seed"]] = max(best.get(r["seed"], -1.0), r["best_holdout"])
    return {seed: TARGET_FRACTION * b for seed, b in best.items()}


def _set_targets(rows, engine):
    """Each row's target (its seed's, from ``engine``'s runs: see ``_targets``),
    and the epochs, updates and seconds to it."""
    targets = _targets(rows, engine)
    for row in rows:
        target = targets.get(row["seed"], math.nan)
        row["target"] = target
        i = _first_reach(row["curve"], target)
        for key, name in (
            ("epoch", "epochs_to_target"),
            ("updates", "updates_to_target"),
            ("seconds", "seconds_to_target"),
        ):
            row[name] = math.nan if i is None else float(row["curve"][key][i])


def _project(rows, search):
    """For runs stopped by their time budget before the target: the time they
    would have taken, from the search engine's epochs to target at the same
    seed (the trajectories are the same) and their own seconds per epoch."""
    paired = {r["seed"]: r for r in rows if r["engine"] == search}
    for row in rows:
        row["seconds_to_target_projected"] = math.nan
        twin = paired.get(row["seed"])
        if (
            row["stop"] == "budget"
            and math.isnan(row["seconds_to_target"])
            and twin is not None
        ):
            row["seconds_to_target_projected"] = (
                twin["epochs_to_target"] * row["seconds_per_epoch"]
            )


def _choose_learning_rate(rows):
    """The learning rate with the best mean hold-out accuracy over seeds; rates
    within one hold-out sample of it count as tied, and the tie goes to the one
    that reaches the target in the fewest updates. Rates where any seed diverged
    are never chosen. The test set plays no part."""
    by_lr = {}
    for row in rows:
        by_lr.setdefault(row["learning_rate"], []).append(row)
    stable = {lr: rs for lr, rs in by_lr.items() if not any(r["diverged"] for r in rs)}
    if not stable:
        return None
    score = {
        lr: float(np.mean([r["best_holdout"] for r in rs])) for lr, rs in stable.items()
    }
    tol = 1.0 / rows[0]["n_holdout"]
    best = max(score.values())

    def speed(lr):
        updates = [r["updates_to_target"] for r in stable[lr]]
        if any(math.isnan(u) for u in updates):
            return math.inf
        return float(np.mean(updates))

    tied = [lr for lr, s in score.items() if s >= best - tol - 1e-12]
    return min(tied, key=lambda lr: (speed(lr), -score[lr], lr))


# -- the comparison --------------------------------------------------------------------


class _Progress:
    """One line per batch size and learning rate (or per run with ``verbose=2``),
    and on a terminal a live line with the running hold-out accuracy."""

    def __init__(self, verbose, stream=None):
        self.verbose = verbose
        self.stream = stream if stream is not None else sys.stdout
        self.is_live = verbose >= 1 and getattr(self.stream, "isatty", bool)()
        self._last = 0.0
        self._shown = False

    def live(self, text):
        if not self.is_live:
            return
        now = time.monotonic()
        if now - self._last < 0.1:
            return
        self._last = now
        self.stream.write("\r" + text[:118] + "\x1b[K")
        self.stream.flush()
        self._shown = True

    def line(self, text, level=1):
        if self.verbose < level:
            return
        if self._shown:
            self.stream.write("\r\x1b[K")
            self._shown = False
        self.stream.write(text + "\n")
        self.stream.flush()


def _group_line(engine, batch, lr, rows):
    accs = " ".join(
        f"{r['best_holdout']:.4f}" if not r["diverged"] else "  div " for r in rows
    )
    epochs = " ".join(f"{r['epochs']:.3g}" for r in rows)
    seconds = sum(r["seconds"] for r in rows)
    return (
        f"  {engine:7s} batch {batch:>4s}  lr {lr:<6g} hold-out {accs}  "
        f"epochs {epochs}  {seconds:.3g} s"
    )


def _compare_dataset(
    dataset,
    *,
    batch_sizes,
    learning_rates,
    seeds,
    settings,
    engines,
    threads,
    evals_per_epoch,
    exhaustive,
    target,
    progress,
):
    X, y, repeat = load_dataset(dataset, target)
    name = Path(dataset).stem if dataset not in DATASETS else dataset
    problems = {
        seed: _Problem(split_dataset(X, y, seed, repeat), settings.hidden)
        for seed in seeds
    }
    first = problems[seeds[0]]
    progress.line(
        f"{name}: {first.n_train} train / {first.split.y_holdout.shape[0]} hold-out / "
        f"{first.split.y_test.shape[0]} test rows, {first.split.X_train.shape[1]} "
        f"features, {first.split.n_classes} classes; network "
        f"{'-'.join(str(u) for u in first.layout.units)} tanh; BLAS threads "
        f"{threads}; max {settings.max_epochs} epochs, patience {settings.patience}"
        f", {len(seeds)} seeds"
        + (
            f", {settings.budget:g} s budget per run after the search"
            if settings.budget
            else ""
        )
    )
    search, *others = engines
    progress.line(
        f"{search} searches the learning rates of each batch size, largest "
        "first"
        + (
            f"; then {', '.join(engines)} run each batch size's chosen rate"
            if others
            else ""
        )
    )

    def run(engines, batch_size, lr, phase, seeds=seeds):
        """Every seed with every engine, engines interleaved seed by seed so that
        a burst of load on the shared machine hits them alike. The engines after
        the first stop once they match the first one's best hold-out accuracy
        (their trajectory is the same, so nothing after it is news) or spend
        their time budget."""
        groups = {engine: [] for engine in engines}
        for seed in seeds:
            paired = None
            for engine in engines:
                stop_at = budget = None
                if paired is not None:
                    stop_at, budget = paired["best_holdout"], settings.budget
                row = _run(
                    problems[seed],
                    name,
                    engine,
                    seed,
                    batch_size,
                    lr,
                    settings,
                    evals_per_epoch,
                    threads,
                    progress,
                    stop_at=stop_at,
                    budget=budget,
                )
                paired = paired or row
                row["phase"] = phase
                progress.line(
                    f"    {engine} seed {seed}: hold-out {row['best_holdout']:.4f} at "
                    f"epoch {row['best_epoch']:.3g}, {row['epochs']:.3g} epochs, "
                    f"{row['seconds']:.3g} s ({row['stop']})",
                    level=2,
                )
                groups[engine].append(row)
        for engine, group in groups.items():
            progress.line(_group_line(engine, _batch_label(batch_size), lr, group))
        return [row for group in groups.values() for row in group]

    rows = []
    tol = 1.0 / first.split.y_holdout.shape[0]
    searched = seeds[: settings.search_seeds or len(seeds)]
    if len(searched) < len(seeds):
        progress.line(
            f"the search runs on seed {', '.join(map(str, searched))}; "
            "every seed then runs at the chosen rates"
        )
    for batch_size in batch_sizes:
        best, worse = -1.0, 0
        for lr in sorted(learning_rates, reverse=True):
            group = run([search], batch_size, lr, "search", searched)
            rows += group
            if any(r["diverged"] for r in group):
                continue
            score = float(np.mean([r["best_holdout"] for r in group]))
            best = max(best, score)
            worse = worse + 1 if score < best - tol else 0
            # Accuracy peaks once along the grid: after two rates below the
            # peak, smaller ones only train slower.
            if worse >= 2 and not exhaustive:
                skipped = [g for g in learning_rates if g < lr]
                if skipped:
                    progress.line(
                        f"  {search:7s} batch {_batch_label(batch_size):>4s}"
                        f"  skip lr {', '.join(f'{g:g}' for g in skipped)}:"
                        " two smaller rates already fell below the best"
                    )
                break

    _set_targets(rows, search)
    chosen = {}
    for batch_size in batch_sizes:
        label = _batch_label(batch_size)
        chosen[label] = _choose_learning_rate([r for r in rows if r["batch"] == label])
    for row in rows:
        row["chosen"] = row["learning_rate"] == chosen[row["batch"]]
    progress.line(
        "chosen learning rates: "
        + ", ".join(
            f"batch {b} -> {'none' if lr is None else f'{lr:g}'}"
            for b, lr in chosen.items()
        )
    )

    if others or len(searched) < len(seeds):
        progress.line(
            "timing: each batch size's chosen rate again, "
            f"{' and '.join(engines)} back to back for each seed"
        )
        for batch_size in batch_sizes:
            lr = chosen[_batch_label(batch_size)]
            if lr is None:
                continue
            group = run(engines, batch_size, lr, "timing")
            for row in group:
                row["chosen"] = True
            rows += group
        # Seeds the search did not run on get their targets from the timing runs
        # (those of searched seeds repeat search runs, so theirs do not change).
        _set_targets(rows, search)
        for batch_size in batch_sizes:
            _project(
                [
                    r
                    for r in rows
                    if r["phase"] == "timing" and r["batch"] == _batch_label(batch_size)
                ],
                search,
            )
    return rows


def _parse_seeds(seeds):
    if isinstance(seeds, int | np.integer):
        if seeds < 1:
            raise ValueError(f"seeds must be >= 1, got {seeds}")
        return list(range(int(seeds)))
    return [int(s) for s in seeds]


def compare_batch_sizes(
    dataset="digits",
    *,
    batch_sizes=BATCH_SIZES,
    learning_rates=LEARNING_RATES,
    seeds=None,
    hidden=None,
    max_epochs=None,
    patience=None,
    budget=None,
    search_seeds=None,
    engines=ENGINES,
    threads=1,
    evals_per_epoch=EVALS_PER_EPOCH,
    exhaustive=False,
    target=None,
    verbose=1,
    as_frame="auto",
):
    """Compare on-line, mini-batch and full-batch training of the same network.

    Trains the same network with each batch size and measures the accuracy it
    reaches and the epochs, updates and seconds it takes to reach a target.
    This is the Python API behind ``fastsgd compare``.

    Wilson & Martinez's experiment (2003) on one or more datasets: for each
    seed, a stratified 60/20/20 split standardized on the training rows and one
    set of initial weights shared by every batch size and learning rate. The
    first engine searches ``learning_rates`` for each batch size (largest first;
    once two rates have fallen below the best, smaller ones are skipped unless
    ``exhaustive``); the other engines run at each batch size's chosen rate.
    Hold-out accuracy is measured about every 10% of the training so far;
    training stops after ``patience`` epochs without improvement (or as many
    epochs as it took to reach the best, if more) or at ``max_epochs``; test
    accuracy is read at the best hold-out point.

    Parameters
    ----------
    dataset : str or list of str, default="digits"
        ``"digits"``, ``"iris"``, ``"wine"``, ``"breast_cancer"``, ``"large"``
        (25,000 synthetic samples, 10 classes), ``"digits-x10"`` (digits with
        its training rows repeated 10 times), or the path of a CSV file (then
        give ``target``).
    batch_sizes : sequence of int or "full", default=(1, 8, 32, 128, "full")
        The batch sizes to compare: 1 is on-line training, "full" one update
        per epoch over the whole training split.
    learning_rates : sequence of float, default=half-decades 0.001 .. 10
        Learning rates in scikit-learn's convention (the batch's mean gradient).
    seeds : int or sequence of int, default=None
        A count (seeds 0 .. seeds - 1) or the seeds themselves; None takes the
        dataset's default (3; 2 for ``large``). Each seed draws its own split,
        initial weights and shuffles.
    hidden, max_epochs, patience : int, default=None
        Hidden units, epoch cap and patience in epochs; None takes the
        dataset's default from ``SETTINGS``.
    budget : float, default=None
        Training seconds each run of the engines after the first may take (they
        also stop once they match the first engine's best hold-out accuracy);
        a run cut short before the target reports a projected time. None takes
        the dataset's default (30 s for ``large`` and ``digits-x10``, none
        otherwise); 0 means no budget.
    search_seeds : int, default=None
        Search the learning rates on the first this many seeds only (every
        seed then runs at the chosen rates); None takes the dataset's default
        (1 for ``large``, all seeds otherwise).
    engines : sequence of {"fastsgd", "sklearn"}, default=("fastsgd", "sklearn")
        The first one searches the learning rates.
    threads : int or None, default=1
        BLAS threads (threadpoolctl) for every engine; None leaves them alone.
    evals_per_epoch : int, default=10
        Hold-out evaluations in the first epoch (about this many divided by the
        epoch number later, at least one per epoch).
    exhaustive : bool, default=False
        Run every learning rate, even after the accuracy has fallen twice.
    target : str, default=None
        The label column of a CSV dataset.
    verbose : int, default=1
        0 is silent, 1 prints one line per batch size and learning rate (and a
        live line on a terminal), 2 one line per run.
    as_frame : bool or "auto", default="auto"
        Return a pandas DataFrame ("auto": when pandas is installed) or a list
        of dicts.

    Returns
    -------
    pandas.DataFrame or list of dict
        One row per run: ``dataset, engine, batch, batch_size, learning_rate,
        learning_rate_summed`` (Wilson & Martinez's convention: ``lr / B``),
        ``seed``, the split sizes, ``stop`` ("patience", "max_epochs" or
        "diverged"), ``diverged, epochs, updates, seconds`` (training only),
        ``seconds_per_epoch, best_holdout, best_epoch, test_at_best, target,
        epochs_to_target, updates_to_target, seconds_to_target`` (NaN when not
        reached), ``chosen`` (the batch size's chosen learning rate),
        ``phase`` ("search", or "timing": the chosen rates again, every engine
        back to back, which the summary's times come from),
        ``initial_weights`` (a digest: equal across a seed's runs) and
        ``curve`` (dict of arrays ``epoch, updates, seconds, holdout``).
        ``fastsgd compare`` summarises it into one row per batch size.

    See Also
    --------
    MLPClassifier : The estimator trained by the "fastsgd" engine.

    Notes
    -----
    D. R. Wilson and T. R. Martinez, "The general inefficiency of batch
    training for gradient descent learning", Neural Networks 16(10),
    1429-1451, 2003.

    Examples
    --------
    A tiny run: iris, on-line against full batch, two learning rates, one
    seed, fastsgd only.

    >>> from fastsgd import compare_batch_sizes
    >>> runs = compare_batch_sizes(
    ...     "iris", batch_sizes=[1, "full"], learning_rates=[0.1, 1.0], seeds=1,
    ...     max_epochs=20, engines=["fastsgd"], verbose=0, as_frame=False,
    ... )
    >>> len(runs)  # 2 batch sizes x 2 learning rates
    4
    >>> chosen = [r for r in runs if r["chosen"]]
    >>> [(r["batch"], r["learning_rate"]) for r in chosen]
    [('1', 0.1), ('full', 1.0)]
    """
    datasets = [dataset] if isinstance(dataset, str | os.PathLike) else list(dataset)
    engines = list(engines)
    unknown = [e for e in engines if e not in ENGINES]
    if unknown or not engines:
        raise ValueError(f"engines must be among {ENGINES}, got {engines}")
    batch_sizes = [b if b == "full" else int(b) for b in batch_sizes]
    if any(b != "full" and b < 1 for b in batch_sizes):
        raise ValueError(f"batch sizes must be >= 1 or 'full', got {batch_sizes}")
    learning_rates = sorted({float(lr) for lr in learning_rates})
    if not learning_rates or learning_rates[0] <= 0:
        raise ValueError(f"learning rates must be > 0, got {learning_rates}")
    progress = _Progress(verbose)
    rows = []
    limits = threadpool_limits(limits=threads, user_api="blas")
    with limits:
        for name in datasets:
            name = os.fspath(name)
            settings = _resolve_settings(
                name,
                hidden,
                max_epochs,
                patience,
                seeds,
                budget,
                search_seeds,
            )
            rows += _compare_dataset(
                name,
                batch_sizes=batch_sizes,
                learning_rates=learning_rates,
                seeds=_parse_seeds(settings.seeds),
                settings=settings,
                engines=engines,
                threads=_blas_threads() if threads is None else threads,
                evals_per_epoch=int(evals_per_epoch),
                exhaustive=exhaustive,
                target=target,
                progress=progress,
            )
    return _as_table(rows, as_frame)


def _blas_threads():
    from threadpoolctl import threadpool_info

    counts = {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}
    return max(counts) if counts else 1


def _as_table(rows, as_frame):
    if as_frame is False:
        return rows
    try:
        import pandas as pd
    except ImportError:
        if as_frame is True:
            raise
        return rows
    return pd.DataFrame(rows)
