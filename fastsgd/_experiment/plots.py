"""The PNG plots of a comparison (``plot``): hold-out accuracy against epochs
and seconds, and the learning rates against the batch size. Needs matplotlib,
imported only when plotting."""

from pathlib import Path

import numpy as np

from fastsgd._experiment.summary import _distinct, _records, summarize

PLOT_KINDS = ("epochs", "seconds", "learning-rate")


def plot_file_name(dataset, kind):
    """The PNG file of one of ``PLOT_KINDS`` for ``dataset``."""
    return f"{dataset}-{kind}.png"


def _mean_curve(rows, x):
    """Mean over seeds of hold-out accuracy against ``x`` ("epoch"/"seconds"),
    over the evaluations every seed reached (they share an evaluation schedule)."""
    curves = [r["curve"] for r in rows]
    n = min(len(c["holdout"]) for c in curves)
    xs = np.mean([c[x][:n] for c in curves], axis=0)
    ys = np.mean([c["holdout"][:n] for c in curves], axis=0)
    keep = xs > 0  # log axes
    return xs[keep], ys[keep]


def plot(runs, out, dataset=None):
    """Write the PNG plots of one dataset into the folder ``out``.

    Hold-out accuracy against epochs and against seconds (one line per batch
    size at its chosen learning rate, mean over seeds; scikit-learn dashed), and
    the chosen and largest stable learning rates against the batch size.
    Needs matplotlib (``pip install matplotlib``).

    Parameters
    ----------
    runs : pandas.DataFrame or list of dict
        What :func:`compare_batch_sizes` returned.
    out : str or Path
        Folder to write into (created if needed).
    dataset : str, default=None
        Which dataset; None is the first one in ``runs``.

    Returns
    -------
    paths : list of Path
    """
    from matplotlib.figure import Figure

    rows = _records(runs)
    dataset = dataset or rows[0]["dataset"]
    rows = [r for r in rows if r["dataset"] == dataset]
    summary = summarize(rows)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    batches = _distinct(rows, "batch")
    engines = _distinct(rows, "engine")
    colors = {b: f"C{i}" for i, b in enumerate(batches)}
    styles = {"fastsgd": "-", "sklearn": "--"}
    target = float(np.nanmean([r["target"] for r in rows]))
    paths = []
    for x, xlabel, engines_shown in (
        ("epoch", "epochs (log scale)", engines[:1]),
        ("seconds", "training seconds (log scale)", engines),
    ):
        fig = Figure(figsize=(7, 4.5), layout="constrained")
        ax = fig.subplots()
        for engine in engines_shown:
            for batch in batches:
                chosen = [
                    r
                    for r in rows
                    if r["engine"] == engine and r["batch"] == batch and r["chosen"]
                ]
                if not chosen:
                    continue
                xs, ys = _mean_curve(chosen, x)
                label = (
                    f"batch {batch} (lr {chosen[0]['learning_rate']:g})"
                    if engine == engines_shown[0]
                    else None
                )
                ax.plot(
                    xs,
                    100 * ys,
                    styles.get(engine, ":"),
                    color=colors[batch],
                    label=label,
                )
        ax.axhline(100 * target, color="0.6", lw=0.8, ls=":")
        ax.set_xscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("hold-out accuracy (%)")
        low = max(0.0, 100 * target - 15)
        ax.set_ylim(low, 100.5 if target > 0.985 else min(100.5, 100 * target + 5))
        title = f"{dataset}: hold-out accuracy, mean over seeds; dotted: 99% target"
        if x == "seconds" and len(engines) > 1:
            title += "\nsolid: " + engines[0] + ", dashed: " + ", ".join(engines[1:])
        ax.set_title(title, fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
        path = out / plot_file_name(dataset, "epochs" if x == "epoch" else "seconds")
        fig.savefig(path, dpi=110)
        paths.append(path)

    fig = Figure(figsize=(6, 4.2), layout="constrained")
    ax = fig.subplots()
    fast = [s for s in summary if s["engine"] == engines[0] and "learning_rate" in s]
    if fast:
        b = np.array([s["batch_size"] for s in fast], dtype=float)
        ax.plot(
            b, [s["learning_rate"] for s in fast], "o-", label="best lr (mean gradient)"
        )
        ax.plot(
            b,
            [s["largest_lr_to_target"] for s in fast],
            "s:",
            label="largest lr reaching the target at every seed",
        )
        top = max(max(s["learning_rates_run"]) for s in fast)
        if any(s["largest_stable_lr"] < top for s in fast):
            ax.plot(
                b,
                [s["largest_stable_lr"] for s in fast],
                "x:",
                label="largest lr that did not diverge",
            )
        ax.plot(
            b,
            [s["learning_rate_summed"] for s in fast],
            "^--",
            label="best lr, Wilson & Martinez's summed convention (lr / B)",
        )
        ax.plot(
            b,
            fast[0]["learning_rate"] * b / b[0],
            color="0.6",
            lw=0.8,
            label="linear scaling from batch " + fast[0]["batch"],
        )
        low = min(min(s["learning_rates_run"]) for s in fast)
        low = min(low, min(s["learning_rate_summed"] for s in fast))
        ax.set_ylim(low / 2, top * 3)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("batch size (log scale)")
    ax.set_ylabel("learning rate (log scale)")
    ax.set_title(f"{dataset}: learning rate against batch size", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    path = out / plot_file_name(dataset, "learning-rate")
    fig.savefig(path, dpi=110)
    paths.append(path)
    return paths
