"""The summary of a comparison (``summarize``): one row per dataset, engine and
batch size at the chosen learning rate, and the helpers that read it."""

import math

import numpy as np


def _records(table):
    if hasattr(table, "to_dict"):
        return table.to_dict("records")
    return list(table)


def _distinct(rows, key):
    """The values of ``key`` in ``rows``, each once, in order of first appearance."""
    return list(dict.fromkeys(r[key] for r in rows))


def _mean_sd(values):
    values = np.asarray([v for v in values if not math.isnan(v)], dtype=float)
    if values.size == 0:
        return math.nan, math.nan
    sd = float(values.std(ddof=1)) if values.size > 1 else 0.0
    return float(values.mean()), sd


def summarize(runs):
    """The per-dataset, per-engine, per-batch-size table of a comparison.

    Parameters
    ----------
    runs : pandas.DataFrame or list of dict
        What :func:`compare_batch_sizes` returned.

    Returns
    -------
    summary : list of dict
        One row per dataset, engine and batch size at the chosen learning rate:
        ``learning_rate, learning_rate_summed, largest_stable_lr`` (largest rate
        at which no seed diverged), ``largest_lr_to_target`` (largest rate at
        which every seed reached the target), ``holdout, holdout_sd, test,
        test_sd``,
        ``epochs_to_target, updates_to_target, seconds_to_target`` with their
        ``_sd`` (means over the seeds that reached the target),
        ``reached`` (how many seeds did), ``seeds``, ``seconds_per_epoch``,
        ``over_budget`` (runs stopped by their time budget before the target),
        ``at_cap`` (runs stopped by ``max_epochs`` rather than by patience),
        ``seconds_to_target_lower`` (the least time those ran without reaching
        it), ``seconds_to_target_projected`` (their mean projected time),
        ``threads`` and the split sizes.
    """
    rows = _records(runs)
    out = []
    groups = {}
    for r in rows:
        groups.setdefault((r["dataset"], r["engine"], r["batch"]), []).append(r)
    for (dataset, engine, batch), group in groups.items():
        by_lr = {}
        for r in group:
            by_lr.setdefault(r["learning_rate"], []).append(r)
        lrs = sorted(by_lr)
        stable = [lr for lr in lrs if not any(r["diverged"] for r in by_lr[lr])]
        useful = [
            lr
            for lr in lrs
            if not any(math.isnan(r["epochs_to_target"]) for r in by_lr[lr])
        ]
        phase = "timing" if any(r.get("phase") == "timing" for r in group) else "search"
        chosen = [r for r in group if r["chosen"] and r.get("phase", "search") == phase]
        first = group[0]
        entry = {
            "dataset": dataset,
            "engine": engine,
            "batch": batch,
            "batch_size": first["batch_size"],
            "n_train": first["n_train"],
            "n_holdout": first["n_holdout"],
            "n_test": first["n_test"],
            "n_features": first["n_features"],
            "n_classes": first["n_classes"],
            "hidden": first["hidden"],
            "threads": first["threads"],
            "updates_per_epoch": first["updates_per_epoch"],
            "largest_stable_lr": stable[-1] if stable else math.nan,
            "largest_lr_to_target": useful[-1] if useful else math.nan,
            "learning_rates_run": lrs,
            "seeds": len(chosen),
        }
        if not chosen:
            out.append(entry)
            continue
        entry["learning_rate"] = chosen[0]["learning_rate"]
        entry["learning_rate_summed"] = chosen[0]["learning_rate_summed"]
        for name, col in (
            ("holdout", "best_holdout"),
            ("test", "test_at_best"),
            ("epochs_to_target", "epochs_to_target"),
            ("updates_to_target", "updates_to_target"),
            ("seconds_to_target", "seconds_to_target"),
            ("epochs", "epochs"),
        ):
            entry[name], entry[name + "_sd"] = _mean_sd([r[col] for r in chosen])
        entry["reached"] = sum(not math.isnan(r["seconds_to_target"]) for r in chosen)
        cut = [
            r
            for r in chosen
            if r["stop"] == "budget" and math.isnan(r["seconds_to_target"])
        ]
        entry["over_budget"] = len(cut)
        entry["at_cap"] = sum(r["stop"] == "max_epochs" for r in chosen)
        entry["seconds_to_target_lower"] = (
            min(r["seconds"] for r in cut) if cut else math.nan
        )
        entry["seconds_to_target_projected"] = _mean_sd(
            [r.get("seconds_to_target_projected", math.nan) for r in cut]
        )[0]
        entry["seconds_per_epoch"] = sum(r["seconds"] for r in chosen) / sum(
            r["epochs"] for r in chosen
        )
        entry["target"] = float(np.mean([r["target"] for r in chosen]))
        out.append(entry)
    return out


def _by_engine(summary, dataset):
    table = {}
    for s in summary:
        if s["dataset"] == dataset:
            table.setdefault(s["batch"], {})[s["engine"]] = s
    return table


def _engines(by_batch):
    """The engines of a ``_by_engine`` table, in order of first appearance."""
    return list(dict.fromkeys(e for v in by_batch.values() for e in v))


def _effective_seconds(s):
    """Mean time to target, and whether it is projected: measured when every
    seed reached the target, projected when the others ran out of budget."""
    if s["reached"] == s["seeds"]:
        return s["seconds_to_target"], False
    if s.get("over_budget") and s["reached"] + s["over_budget"] == s["seeds"]:
        measured = s["seconds_to_target"] * s["reached"] if s["reached"] else 0.0
        projected = s["seconds_to_target_projected"] * s["over_budget"]
        return (measured + projected) / s["seeds"], True
    return math.nan, False
