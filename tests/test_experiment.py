"""``fastsgd compare``: the protocol (split, scaling, paired weights, stopping, the
test set's role), the runs table, the report and the command line."""

import math
import sys
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier
from sklearn.neural_network import _stochastic_optimizers
from sklearn.preprocessing import StandardScaler

import fastsgd.__main__ as cli
from fastsgd import MLPClassifier, _experiment, _kernels
from fastsgd._experiment import compare as _compare
from fastsgd._experiment import (
    compare_batch_sizes,
    initial_weights,
    split_dataset,
    summarize,
    write_report,
)
from fastsgd._experiment.runs import _Curve, _Problem, _run, _segments
from fastsgd._experiment.tables import _grid_table

# A tiny grid on iris: every test that runs the whole comparison uses it.
TINY = dict(
    batch_sizes=(1, 8, "full"),
    learning_rates=(0.03, 0.3),
    seeds=2,
    max_epochs=12,
    patience=3,
    verbose=0,
    as_frame=False,
)


@pytest.fixture(scope="module")
def tiny_runs():
    return compare_batch_sizes("iris", **TINY)


class _Quiet:
    def live(self, text):
        pass


def _main(argv, monkeypatch):
    """``fastsgd ...`` with only the compare sub-command wired (other
    sub-commands live in other branches)."""
    monkeypatch.setattr(cli, "COMMANDS", {"compare": cli.COMMANDS["compare"]})
    return cli.main(argv)


# -- protocol --------------------------------------------------------------------------


def test_split_is_stratified_60_20_20_and_disjoint():
    X, y, _ = _experiment.load_dataset("digits")
    split = split_dataset(X, y, seed=3)
    parts = (split.train, split.holdout, split.test)
    sizes = np.array([p.shape[0] for p in parts])
    assert sizes.sum() == X.shape[0]
    np.testing.assert_allclose(sizes / X.shape[0], [0.6, 0.2, 0.2], atol=0.002)
    assert np.unique(np.concatenate(parts)).shape[0] == X.shape[0]
    overall = np.bincount(y) / y.shape[0]
    for part in parts:
        counts = np.bincount(y[part], minlength=overall.shape[0])
        assert np.all(np.abs(counts - overall * part.shape[0]) <= 1.5)
    np.testing.assert_array_equal(split.y_train, y[split.train])
    other = split_dataset(X, y, seed=4)
    assert not np.array_equal(other.test, split.test)


def test_standardization_uses_training_rows_only():
    X, y = load_iris(return_X_y=True)
    split = split_dataset(X, y, seed=0)
    scaler = StandardScaler().fit(X[split.train])
    np.testing.assert_allclose(split.X_train, scaler.transform(X[split.train]))
    np.testing.assert_allclose(split.X_holdout, scaler.transform(X[split.holdout]))
    np.testing.assert_allclose(split.X_test, scaler.transform(X[split.test]))
    # Changing hold-out and test rows changes nothing about the training rows.
    shifted = X.copy()
    shifted[split.holdout] += 100.0
    shifted[split.test] *= -3.0
    again = split_dataset(shifted, y, seed=0)
    np.testing.assert_array_equal(again.X_train, split.X_train)
    assert np.abs(again.X_holdout.mean()) > 10


def test_repeated_training_set_keeps_hold_out_and_test():
    X, y, repeat = _experiment.load_dataset("digits-x10")
    assert repeat == 10
    once = split_dataset(X, y, seed=0)
    ten = split_dataset(X, y, seed=0, repeat=10)
    assert ten.X_train.shape[0] == 10 * once.X_train.shape[0]
    np.testing.assert_array_equal(ten.X_train[: once.X_train.shape[0]], once.X_train)
    np.testing.assert_array_equal(ten.X_test, once.X_test)


def _estimator_initial_weights(cls, seed, X, y):
    # One step with a learning rate of 1e-300 leaves every weight as drawn.
    est = cls(
        hidden_layer_sizes=(32,),
        activation="tanh",
        solver="sgd",
        learning_rate_init=1e-300,
        momentum=0.0,
        max_iter=1,
        random_state=seed,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    return np.concatenate([a.ravel() for a in est.coefs_ + est.intercepts_])


@pytest.mark.parametrize("cls", [MLPClassifier, SklearnMLPClassifier])
def test_initial_weights_are_the_estimators_own(cls):
    X, y = load_iris(return_X_y=True)
    problem = _Problem(split_dataset(X, y, seed=5), hidden=32)
    params, _ = initial_weights(problem.layout, 5)
    drawn = _estimator_initial_weights(
        cls, 5, problem.split.X_train, problem.split.y_train
    )
    np.testing.assert_array_equal(params, drawn)


def test_weights_are_paired_across_batch_sizes_learning_rates_and_engines(tiny_runs):
    digests = {}
    for row in tiny_runs:
        digests.setdefault(row["seed"], set()).add(row["initial_weights"])
    assert [len(d) for d in digests.values()] == [1, 1]
    assert digests[0] != digests[1]
    sklearn_rows = [r for r in tiny_runs if r["engine"] == "sklearn"]
    assert sklearn_rows and all(r["sklearn_drew_same_weights"] for r in sklearn_rows)


def test_segments_cut_epochs_at_batch_boundaries():
    n, batch = 1077, 8
    first = _segments(n, batch, epoch=1, evals_per_epoch=10)
    assert len(first) == 10
    assert first[0][0] == 0 and first[-1][1] == n
    for (_, end, _), (start, _, _) in zip(first[:-1], first[1:], strict=True):
        assert end == start and end % batch == 0
    assert sum(s[2] for s in first) == -(-n // batch)
    assert len(_segments(n, batch, epoch=2, evals_per_epoch=10)) == 5
    assert len(_segments(n, batch, epoch=30, evals_per_epoch=10)) == 1
    assert _segments(n, n, epoch=1, evals_per_epoch=10) == [(0, n, 1)]


def test_patience_grows_with_the_epoch_of_the_best():
    X, y = load_iris(return_X_y=True)
    problem = _Problem(split_dataset(X, y, seed=0), hidden=4)
    curve = _Curve(problem, patience=3, progress=_Quiet(), label="")
    params, _ = initial_weights(problem.layout, 0)
    curve.evaluate(params, 0.0, 0)
    assert not curve.stalled(2) and curve.stalled(3)
    curve.best_index, curve.epoch = 0, [10.0]  # best at epoch 10
    assert not curve.stalled(19) and curve.stalled(20)


def test_fastsgd_runs_are_the_estimators_fits():
    """The comparison's segment-by-segment training makes the same updates as
    ``MLPClassifier.fit``: same hold-out accuracy after every epoch."""
    X, y = load_iris(return_X_y=True)
    problem = _Problem(split_dataset(X, y, seed=1), hidden=32)
    row = _run(
        problem,
        "iris",
        "fastsgd",
        1,
        8,
        0.3,
        _experiment.Settings(32, 6, 100),
        10,
        1,
        _Quiet(),
    )
    split = problem.split
    est = MLPClassifier(
        hidden_layer_sizes=(32,),
        activation="tanh",
        solver="sgd",
        alpha=0.0,
        batch_size=8,
        learning_rate_init=0.3,
        momentum=0.0,
        max_iter=6,
        n_iter_no_change=100,
        random_state=1,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(
            split.X_train, split.y_train, X_val=split.X_holdout, y_val=split.y_holdout
        )
    curve = row["curve"]
    at_epoch_end = np.isin(curve["epoch"], np.arange(1, 7))
    np.testing.assert_allclose(
        curve["holdout"][at_epoch_end], [h["valid_score"] for h in est.history_]
    )


def test_sklearn_trains_the_same_trajectory_up_to_the_best_point(tiny_runs):
    fast = {
        (r["batch"], r["seed"]): r
        for r in tiny_runs
        if r["engine"] == "fastsgd" and r["phase"] == "timing"
    }
    slow = [r for r in tiny_runs if r["engine"] == "sklearn"]
    assert len(slow) == len(fast) == 6
    for row in slow:
        twin = fast[(row["batch"], row["seed"])]
        n = len(row["curve"]["epoch"])
        for key in ("epoch", "updates"):
            np.testing.assert_array_equal(row["curve"][key], twin["curve"][key][:n])
        np.testing.assert_allclose(
            row["curve"]["holdout"], twin["curve"]["holdout"][:n]
        )
        # It stops at fastsgd's best point, which it shares with fastsgd.
        assert row["stop"] == "paired best"
        assert n == np.argmax(twin["curve"]["holdout"]) + 1
        assert row["best_holdout"] == twin["best_holdout"]
        assert row["test_at_best"] == twin["test_at_best"]
        np.testing.assert_equal(row["updates_to_target"], twin["updates_to_target"])


def test_test_accuracy_is_read_at_the_best_hold_out_point():
    X, y = load_iris(return_X_y=True)
    problem = _Problem(split_dataset(X, y, seed=2), hidden=32)
    row = _run(
        problem,
        "iris",
        "fastsgd",
        2,
        "full",
        1.0,
        _experiment.Settings(32, 40, 5),
        10,
        1,
        _Quiet(),
    )
    best_epoch = row["best_epoch"]
    assert best_epoch == int(best_epoch) and best_epoch < row["epochs"]
    curve = row["curve"]
    assert row["best_holdout"] == curve["holdout"].max()
    assert best_epoch == curve["epoch"][np.argmax(curve["holdout"])]
    est = MLPClassifier(
        hidden_layer_sizes=(32,),
        activation="tanh",
        solver="sgd",
        alpha=0.0,
        batch_size="full",
        learning_rate_init=1.0,
        momentum=0.0,
        max_iter=int(best_epoch),
        random_state=2,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(problem.split.X_train, problem.split.y_train)
    assert row["test_at_best"] == est.score(problem.split.X_test, problem.split.y_test)


def test_the_test_set_decides_nothing(monkeypatch):
    """Shuffling the test labels changes the test accuracies and nothing else."""
    grid = dict(TINY, engines=("fastsgd",), seeds=1)
    honest = compare_batch_sizes("iris", **grid)
    split = _experiment.split_dataset

    def scrambled(*args, **kwargs):
        s = split(*args, **kwargs)
        s.y_test = np.random.RandomState(0).permutation(s.y_test)
        return s

    monkeypatch.setattr(_compare, "split_dataset", scrambled)
    other = compare_batch_sizes("iris", **grid)
    assert len(honest) == len(other)
    decisions = (
        "batch",
        "learning_rate",
        "chosen",
        "best_holdout",
        "best_epoch",
        "epochs",
        "updates",
        "target",
        "updates_to_target",
        "stop",
    )
    for a, b in zip(honest, other, strict=True):
        assert [a[k] for k in decisions] == [b[k] for k in decisions]
    assert [r["test_at_best"] for r in honest] != [r["test_at_best"] for r in other]


# -- the runs table and the summary ----------------------------------------------------


def test_runs_table_rows_and_columns(tiny_runs):
    search = [r for r in tiny_runs if r["phase"] == "search"]
    timing = [r for r in tiny_runs if r["phase"] == "timing"]
    assert len(search) == 3 * 2 * 2  # batch sizes x learning rates x seeds
    assert len(timing) == 3 * 2 * 2  # batch sizes x seeds x engines
    assert {r["engine"] for r in search} == {"fastsgd"}
    expected = {
        "dataset",
        "engine",
        "batch",
        "batch_size",
        "learning_rate",
        "learning_rate_summed",
        "seed",
        "n_train",
        "n_holdout",
        "n_test",
        "stop",
        "diverged",
        "epochs",
        "updates",
        "seconds",
        "seconds_per_epoch",
        "best_holdout",
        "best_epoch",
        "test_at_best",
        "target",
        "epochs_to_target",
        "updates_to_target",
        "seconds_to_target",
        "chosen",
        "phase",
        "threads",
        "initial_weights",
        "curve",
    }
    for row in tiny_runs:
        assert expected <= set(row)
        assert row["dataset"] == "iris" and row["threads"] == 1
        assert (row["n_train"], row["n_holdout"], row["n_test"]) == (90, 30, 30)
        assert row["learning_rate_summed"] == row["learning_rate"] / row["batch_size"]
        assert row["updates_per_epoch"] == -(-90 // row["batch_size"])
        assert row["stop"] in (
            ("patience", "max_epochs")
            if row["engine"] == "fastsgd"
            else ("paired best",)
        )
        assert 0 < row["epochs"] <= TINY["max_epochs"]
        assert row["target"] == pytest.approx(
            0.99 * max(r["best_holdout"] for r in search if r["seed"] == row["seed"])
        )
        if not math.isnan(row["epochs_to_target"]):
            assert row["best_holdout"] >= row["target"] - 1e-12
            assert row["seconds_to_target"] <= row["seconds"]
    for batch in ("1", "8", "full"):
        chosen = {
            r["learning_rate"] for r in search if r["batch"] == batch and r["chosen"]
        }
        assert len(chosen) == 1
        assert {r["learning_rate"] for r in timing if r["batch"] == batch} == chosen


def test_summary_has_one_row_per_engine_and_batch(tiny_runs):
    summary = summarize(tiny_runs)
    assert [(s["engine"], s["batch"]) for s in summary] == [
        ("fastsgd", "1"),
        ("fastsgd", "8"),
        ("fastsgd", "full"),
        ("sklearn", "1"),
        ("sklearn", "8"),
        ("sklearn", "full"),
    ]
    for s in summary:
        assert s["seeds"] == 2 and 0 <= s["reached"] <= 2
        assert 0 < s["test"] <= 1 and s["seconds_per_epoch"] > 0
        assert s["largest_stable_lr"] == max(s["learning_rates_run"])
    text = _experiment.speed_table(summary, "iris")
    assert "sklearn / fastsgd" in text and len(text.splitlines()) == 2 + 3


def test_search_on_fewer_seeds():
    runs = compare_batch_sizes(
        "iris", **dict(TINY, seeds=2, search_seeds=1, engines=("fastsgd",))
    )
    assert {r["seed"] for r in runs if r["phase"] == "search"} == {0}
    timing = [r for r in runs if r["phase"] == "timing"]
    assert {r["seed"] for r in timing} == {0, 1} and all(r["chosen"] for r in timing)
    for seed in (0, 1):
        best = max(r["best_holdout"] for r in runs if r["seed"] == seed)
        assert all(
            r["target"] == pytest.approx(0.99 * best) for r in runs if r["seed"] == seed
        )


def test_chosen_rates_at_the_grid_edge_are_flagged(tiny_runs):
    summary = summarize(tiny_runs)
    notes = _experiment.edge_notes(summary, "iris")
    edges = [
        s
        for s in summary
        if s["engine"] == "fastsgd" and s["learning_rate"] in (0.03, 0.3)
    ]
    assert len(notes) == len(edges) == 3  # the grid is just (0.03, 0.3)
    assert all("in the grid" in n for n in notes)


def test_pandas_frame_when_asked(tiny_runs):
    pd = pytest.importorskip("pandas")
    frame = compare_batch_sizes(
        "iris", **dict(TINY, as_frame=True, seeds=1, engines=("fastsgd",))
    )
    assert isinstance(frame, pd.DataFrame)
    assert summarize(frame)[0]["engine"] == "fastsgd"


def _diverge_at(monkeypatch, lr):
    train_epoch = _kernels.train_epoch

    def diverging(layout, data, rule, params, *args, **kwargs):
        result = train_epoch(layout, data, rule, params, *args, **kwargs)
        if rule.learning_rate >= lr:
            params[0] = np.nan
        return result

    monkeypatch.setattr(_kernels, "train_epoch", diverging)


def test_time_budget_stops_runs_and_projects_their_time():
    runs = compare_batch_sizes(
        "iris", **dict(TINY, seeds=1, budget=1e-9, learning_rates=(0.3,))
    )
    summary = summarize(runs)
    for row in runs:
        if row["engine"] == "fastsgd":
            assert row["stop"] in ("patience", "max_epochs")
            continue
        assert row["stop"] == "budget" and len(row["curve"]["epoch"]) == 2
        twin = next(
            r
            for r in runs
            if r["engine"] == "fastsgd"
            and r["phase"] == "timing"
            and r["batch"] == row["batch"]
        )
        if math.isnan(twin["epochs_to_target"]):
            continue
        assert math.isnan(row["seconds_to_target"])
        assert row["seconds_to_target_projected"] == pytest.approx(
            twin["epochs_to_target"] * row["seconds_per_epoch"]
        )
    cut = [s for s in summary if s["engine"] == "sklearn"]
    assert all(s["over_budget"] == 1 for s in cut)
    assert "projected" in _experiment.speed_table(summary, "iris")


def test_diverged_runs_are_recorded_and_never_chosen(monkeypatch):
    _diverge_at(monkeypatch, 1.0)
    runs = compare_batch_sizes(
        "iris",
        **dict(TINY, learning_rates=(0.1, 1.0, 3.0), engines=("fastsgd",), seeds=1),
    )
    for row in runs:
        assert row["diverged"] == (row["learning_rate"] >= 1.0)
        assert row["chosen"] <= (not row["diverged"])
    for s in summarize(runs):
        assert s["largest_stable_lr"] == 0.1 and s["learning_rate"] == 0.1
    assert "diverged" in _grid_table(runs, "iris", "fastsgd")


def test_sklearn_divergence_is_recorded(monkeypatch):
    monkeypatch.setattr(
        _stochastic_optimizers.SGDOptimizer,
        "_get_updates",
        lambda self, grads: [np.full_like(g, np.nan) for g in grads],
    )
    X, y = load_iris(return_X_y=True)
    problem = _Problem(split_dataset(X, y, seed=0), hidden=8)
    row = _run(
        problem,
        "iris",
        "sklearn",
        0,
        8,
        0.1,
        _experiment.Settings(8, 5, 5),
        10,
        1,
        _Quiet(),
    )
    assert row["diverged"] and row["stop"] == "diverged"
    assert row["epochs"] < 1


# -- command line and report -----------------------------------------------------------

CLI_ARGS = [
    "compare",
    "--dataset",
    "iris",
    "--batch-sizes",
    "1,full",
    "--learning-rates",
    "0.1,1",
    "--seeds",
    "1",
    "--max-epochs",
    "10",
    "--patience",
    "3",
    "-q",
]


def test_cli_writes_report_and_plots(tmp_path, monkeypatch, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "report"
    assert _main(CLI_ARGS + ["--out", str(out)], monkeypatch) == 0
    printed = capsys.readouterr().out
    assert "time to target (fastsgd)" in printed and "hold-out %" in printed
    report = (out / "report.md").read_text()
    assert "## iris" in report and "| full |" in report
    assert "What the paper predicts" in report and "BLAS threads: 1" in report
    for name in ("iris-epochs.png", "iris-seconds.png", "iris-learning-rate.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"]({name})" in report


def test_cli_without_matplotlib_still_writes_the_report(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    assert _main(CLI_ARGS + ["--out", str(tmp_path)], monkeypatch) == 0
    printed = capsys.readouterr().out
    assert "skipped the plots" in printed
    assert "skipped the plots" in (tmp_path / "report.md").read_text()
    assert not list(tmp_path.glob("*.png"))


def test_cli_help_explains_every_option(monkeypatch, capsys):
    with pytest.raises(SystemExit) as exit_info:
        _main(["compare", "--help"], monkeypatch)
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for option in (
        "--dataset",
        "--target",
        "--batch-sizes",
        "--learning-rates",
        "--seeds",
        "--hidden",
        "--max-epochs",
        "--patience",
        "--engines",
        "--threads",
        "--full",
        "--out",
    ):
        assert option in text
    assert "Wilson & Martinez" in text
    # Users have the documentation, not the project's notes.
    assert "PAPER.md" not in text and "../" not in text
    assert "experiment page of the documentation, docs/" in text


def test_cli_reads_a_csv_dataset(tmp_path, monkeypatch):
    X, y = load_iris(return_X_y=True)
    path = tmp_path / "flowers.csv"
    names = np.array(["setosa", "versicolor", "virginica"])
    lines = ["a,b,species,c,d"] + [
        f"{r[0]},{r[1]},{names[t]},{r[2]},{r[3]}" for r, t in zip(X, y, strict=True)
    ]
    path.write_text("\n".join(lines) + "\n")
    args = [
        "compare",
        "--dataset",
        str(path),
        "--target",
        "species",
        "--engines",
        "fastsgd",
        "--batch-sizes",
        "8",
        "--learning-rates",
        "0.3",
        "--seeds",
        "1",
        "--max-epochs",
        "5",
        "-q",
        "--out",
        str(tmp_path / "o"),
    ]
    assert _main(args, monkeypatch) == 0
    assert "## flowers" in (tmp_path / "o" / "report.md").read_text()
    X_read, y_read, _ = _experiment.load_dataset(str(path), target="species")
    np.testing.assert_allclose(X_read, X)
    assert set(y_read) == set(names)


def test_cli_compares_across_datasets(tmp_path, monkeypatch, capsys):
    args = [
        "compare",
        "--dataset",
        "iris,wine",
        "--engines",
        "fastsgd",
        "--batch-sizes",
        "1,full",
        "--learning-rates",
        "0.3",
        "--seeds",
        "1",
        "--max-epochs",
        "5",
        "-q",
        "--out",
        str(tmp_path),
    ]
    assert _main(args, monkeypatch) == 0
    assert "on-line against full batch" in capsys.readouterr().out
    report = (tmp_path / "report.md").read_text()
    assert "## iris" in report and "## wine" in report
    assert "## Across datasets" in report


def test_report_shows_each_datasets_own_plots(tiny_runs, tmp_path):
    """A dataset whose name begins another's (digits, digits-x10) gets only its
    own plots in its section."""
    runs = tiny_runs + [{**r, "dataset": "iris-x10"} for r in tiny_runs]
    plots = [
        tmp_path / f"{dataset}-{kind}.png"
        for dataset in ("iris", "iris-x10")
        for kind in ("epochs", "seconds", "learning-rate")
    ]
    report = write_report(runs, tmp_path, plots=plots).read_text()
    iris, iris_x10 = report.split("## iris-x10")
    iris = iris.split("## iris")[1]
    assert iris.count("](iris-") == 3 and "](iris-x10-" not in iris
    assert iris_x10.count("](iris-x10-") == 3


def test_cli_across_datasets_without_on_line_runs(tmp_path, monkeypatch, capsys):
    """Without batch 1 there is no on-line/full comparison to make: the report is
    written without that section instead of failing after the training."""
    args = [
        "compare",
        "--dataset",
        "iris,wine",
        "--engines",
        "fastsgd",
        "--batch-sizes",
        "8,full",
        "--learning-rates",
        "0.3",
        "--seeds",
        "1",
        "--max-epochs",
        "3",
        "-q",
        "--out",
        str(tmp_path),
    ]
    assert _main(args, monkeypatch) == 0
    assert "on-line against full batch" not in capsys.readouterr().out
    report = (tmp_path / "report.md").read_text()
    assert "## wine" in report and "## Across datasets" not in report


@pytest.mark.parametrize(
    "args, message",
    [
        (["--dataset", "nope"], "unknown dataset"),
        (["--engines", "torch"], "engines must be among"),
    ],
)
def test_cli_rejects_bad_input_clearly(args, message, tmp_path, monkeypatch, capsys):
    code = _main(["compare", *args, "--out", str(tmp_path)], monkeypatch)
    assert code == 2
    assert message in capsys.readouterr().err


def test_csv_needs_a_target_column(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("x,y\n" + "\n".join(f"{i},{i % 2}" for i in range(20)) + "\n")
    with pytest.raises(ValueError, match="--target"):
        _experiment.load_dataset(str(path))
    with pytest.raises(ValueError, match="no column 'label'"):
        _experiment.load_dataset(str(path), target="label")
