"""Text and markdown tables of a summary: accuracy and learning rates, speed to
the target, on-line against full batch across datasets, the learning-rate grid,
notes on chosen rates at the grid's edge, and the number formats they share."""

import math

import numpy as np

from fastsgd._experiment.summary import (
    _by_engine,
    _distinct,
    _effective_seconds,
    _engines,
)


def _fmt(x, spec=".3g"):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    return format(x, spec)


def _pm(mean, sd, spec=".3g", scale=1.0):
    if math.isnan(mean):
        return "—"
    return f"{format(mean * scale, spec)} ± {format(sd * scale, spec)}"


def _duration(seconds, sd=None):
    """``seconds`` (and a standard deviation) in a readable unit: µs, ms or s."""
    if seconds is None or math.isnan(seconds):
        return "—"
    scale, unit = (
        (1e6, "µs") if seconds < 1e-3 else (1e3, "ms") if seconds < 1 else (1.0, "s")
    )
    text = _significant(seconds * scale, 3)
    if sd is not None and not math.isnan(sd):
        text += " ± " + _significant(sd * scale, 2)
    return f"{text} {unit}"


def _significant(x, digits):
    """``x`` to ``digits`` significant digits, never in exponent notation."""
    text = f"{x:.{digits}g}"
    return f"{x:.0f}" if "e" in text else text


def _ratio(x, approximate=False):
    """A ratio as "3.52×" (3 significant digits), or "≈ 3.52×"."""
    return ("≈ " if approximate else "") + _significant(x, 3) + "×"


def _table(headers, rows, markdown):
    """Rows of strings as an aligned text table or a markdown table (first
    column left-aligned, the others right-aligned)."""
    if markdown:
        lines = [
            "| " + " | ".join(headers) + " |",
            "|" + "|".join([":---"] + ["---:"] * (len(headers) - 1)) + "|",
        ]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]

    def fmt(cells):
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    return "\n".join(
        [fmt(headers), fmt(["-" * w for w in widths])] + [fmt(r) for r in rows]
    )


def _reached(s):
    return "" if s["reached"] == s["seeds"] else f" ({s['reached']}/{s['seeds']})"


def accuracy_table(summary, dataset, markdown=False):
    """Learning rates and accuracies per batch size (text or markdown), from the
    engine that searched the learning rates: the others follow its trajectory
    and stop at its best point."""
    rows = []
    for batch, engines in _by_engine(summary, dataset).items():
        s = next(iter(engines.values()))
        decimals = ".2f" if s["n_holdout"] >= 1000 else ".1f"
        top = max(s["learning_rates_run"])
        stable = _fmt(s["largest_stable_lr"], "g")
        if s["largest_stable_lr"] == top:
            stable = "≥ " + stable
        row = [
            batch,
            f"{s['updates_per_epoch']:,}",
            _fmt(s.get("learning_rate"), "g"),
            _fmt(s.get("learning_rate_summed"), ".3g"),
            _fmt(s["largest_lr_to_target"], "g"),
            stable,
        ]
        for part in ("holdout", "test"):
            row.append(
                _pm(s.get(part, math.nan), s.get(part + "_sd", math.nan), decimals, 100)
            )
        rows.append(row)
    headers = [
        "batch",
        "updates/epoch",
        "lr",
        "lr (W&M)",
        "max lr to target",
        "no divergence up to",
        "hold-out %",
        "test %",
    ]
    return _table(headers, rows, markdown)


def _time_cell(s):
    if not s.get("seeds"):
        return "—"
    text = _duration(s["seconds_to_target"], s["seconds_to_target_sd"])
    if s["reached"] < s["seeds"]:
        text = "" if s["reached"] == 0 else text + _reached(s)
    if s.get("over_budget"):
        text += ("; " if text else "") + (
            f"> {_duration(s['seconds_to_target_lower'])} "
            f"(≈ {_duration(s['seconds_to_target_projected'])} projected)"
        )
    return text or f"— (0/{s['seeds']})"


def speed_table(summary, dataset, markdown=False):
    """Epochs, updates and seconds to the target per batch size and engine.

    Times of runs that spent their time budget before the target show as a lower
    bound with a projection (the same epochs to target at the run's own
    seconds per epoch).
    """
    by_batch = _by_engine(summary, dataset)
    engines = _engines(by_batch)
    both = "fastsgd" in engines and "sklearn" in engines
    headers = ["batch", "epochs to target", "updates to target"]
    headers += [f"time to target ({e})" for e in engines]
    if both:
        headers.append("sklearn / fastsgd")
    headers += [f"time/epoch ({e})" for e in engines]
    rows = []
    for batch, per_engine in by_batch.items():
        s = per_engine.get(engines[0]) or next(iter(per_engine.values()))
        if "learning_rate" not in s:
            rows.append([batch] + ["—"] * (len(headers) - 1))
            continue
        row = [
            batch,
            _pm(s["epochs_to_target"], s["epochs_to_target_sd"], ".2g") + _reached(s),
            _fmt(s["updates_to_target"], ",.0f"),
        ]
        row += [_time_cell(per_engine.get(e, {})) for e in engines]
        if both:
            (f, _), (k, projected) = (
                _effective_seconds(per_engine[e])
                if e in per_engine
                else (math.nan, False)
                for e in ("fastsgd", "sklearn")
            )
            cell = "—"
            if f > 0 and not math.isnan(k):
                cell = _ratio(k / f, projected)
            row.append(cell)
        for e in engines:
            row.append(
                _duration(per_engine.get(e, {}).get("seconds_per_epoch", math.nan))
            )
        rows.append(row)
    return _table(headers, rows, markdown)


def edge_notes(summary, dataset):
    """Warnings for chosen learning rates at the edge of the grid, where a rate
    beyond it might have done better."""
    fast = [s for s in summary if s["dataset"] == dataset and "learning_rate" in s]
    if not fast:
        return []
    search = fast[0]["engine"]
    grid = sorted(
        {lr for s in fast if s["engine"] == search for lr in s["learning_rates_run"]}
    )
    notes = []
    for s in fast:
        if s["engine"] != search or len(grid) < 2:
            continue
        for edge, word, flag in (
            (grid[0], "smallest", "smaller"),
            (grid[-1], "largest", "larger"),
        ):
            if s["learning_rate"] == edge:
                notes.append(
                    f"batch {s['batch']}'s chosen learning rate ({edge:g}) is the "
                    f"{word} in the grid: a {flag} one might do better "
                    "(extend --learning-rates)"
                )
    return notes


def cross_dataset_table(summary, markdown=False):
    """On-line against full batch on every dataset of a comparison; None when no
    dataset ran both."""
    rows = []
    for dataset in _distinct(summary, "dataset"):
        per_batch = _by_engine(summary, dataset)
        online = (per_batch.get("1") or {}).get("fastsgd")
        full = (per_batch.get("full") or {}).get("fastsgd")
        if (
            online is None
            or full is None
            or "learning_rate" not in online
            or "learning_rate" not in full
        ):
            continue
        ratio = full["epochs_to_target"] / online["epochs_to_target"]
        rows.append(
            [
                dataset,
                f"{online['n_train']:,}",
                _fmt(online["epochs_to_target"]) + _reached(online),
                _fmt(full["epochs_to_target"]) + _reached(full),
                _fmt(ratio, ".3g"),
                _duration(online["seconds_to_target"]),
                _duration(full["seconds_to_target"]),
            ]
        )
    if not rows:
        return None
    return _table(
        [
            "dataset",
            "train rows",
            "epochs on-line",
            "epochs full",
            "full / on-line",
            "time on-line (fastsgd)",
            "time full (fastsgd)",
        ],
        rows,
        markdown,
    )


def _grid_table(rows, dataset, engine):
    """Mean best hold-out accuracy for every batch size and learning rate run."""
    rows = [r for r in rows if r["dataset"] == dataset and r["engine"] == engine]
    lrs = sorted({r["learning_rate"] for r in rows})
    batches = _distinct(rows, "batch")
    body = []
    for batch in batches:
        cells = [batch]
        for lr in lrs:
            group = [
                r for r in rows if r["batch"] == batch and r["learning_rate"] == lr
            ]
            if not group:
                cells.append("·")
            elif any(r["diverged"] for r in group):
                cells.append("diverged")
            else:
                acc = 100 * np.mean([r["best_holdout"] for r in group])
                cells.append(f"**{acc:.1f}**" if group[0]["chosen"] else f"{acc:.1f}")
        body.append(cells)
    return _table(["batch \\ lr"] + [f"{lr:g}" for lr in lrs], body, markdown=True)
