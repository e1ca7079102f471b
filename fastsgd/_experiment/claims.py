"""What the paper predicts (``findings``): Wilson & Martinez's four claims,
checked on one dataset's summary, with the numbers behind each verdict."""

import math

import numpy as np

from fastsgd._experiment.summary import _by_engine, _effective_seconds, _engines
from fastsgd._experiment.tables import _duration, _fmt, _ratio, _reached


def findings(summary, dataset):
    """The four results PAPER.md expects, checked on one dataset's summary.

    Parameters
    ----------
    summary : list of dict
        What :func:`summarize` returned.
    dataset : str

    Returns
    -------
    list of (str, bool or None, str)
        The claim, whether it holds here (None: cannot tell) and the numbers.
    """
    by_batch = _by_engine(summary, dataset)
    search = [e.get("fastsgd") or next(iter(e.values())) for e in by_batch.values()]
    fast = [s for s in search if "learning_rate" in s]
    out = []
    if len(fast) < 2:
        return out

    capped = [s for s in fast if s.get("at_cap") == s["seeds"]]
    cap_note = ""
    if capped:
        cap_note = (
            f"; every run of batch {', '.join(s['batch'] for s in capped)} "
            f"was still improving at the {capped[0]['epochs']:.0f}-epoch "
            "cap, so these accuracies are those of the epoch budget"
        )

    # 1. Accuracy, at each batch size's own learning rate.
    tests = [s["test"] for s in fast]
    spread = max(tests) - min(tests)
    bar = max(0.01, 2.0 / fast[0]["n_test"])
    by_test = ", ".join(f"{s['batch']}: {100 * s['test']:.1f}%" for s in fast)
    out.append(
        (
            "Accuracy is about equal across batch sizes once the learning rate is "
            "tuned",
            spread <= bar,
            f"mean test accuracy by batch {by_test}: a spread of {100 * spread:.1f} "
            f"points (hold-out {100 * min(s['holdout'] for s in fast):.1f}–"
            f"{100 * max(s['holdout'] for s in fast):.1f}%); the bar for 'about equal' "
            f"is {100 * bar:.1f} points (1 point or 2 test samples, whichever is more)"
            + cap_note,
        )
    )

    # 2. Epochs to target: on-line against the largest batch, and what happens
    # in between.
    epochs = [s["epochs_to_target"] for s in fast]
    text = ", ".join(
        f"{s['batch']}: {_fmt(e, '.3g')}{_reached(s)}"
        for e, s in zip(epochs, fast, strict=True)
    )
    if not math.isnan(epochs[0]):
        last = fast[-1]
        missed = math.isnan(epochs[-1])
        ratio = math.inf if missed else epochs[-1] / epochs[0]
        middle = [e for e in epochs[1:-1] if not math.isnan(e)]
        if missed:
            text += (
                f". Batch {last['batch']} never reached the target within "
                f"{last['epochs']:.0f} epochs"
            )
        else:
            text += (
                f". Batch {last['batch']} needs {_ratio(ratio)} the "
                f"epochs of batch {fast[0]['batch']}"
            )
        if middle:
            lo, hi = min(middle) / epochs[0], max(middle) / epochs[0]
            span = f"{lo:.2g}×" if f"{lo:.2g}" == f"{hi:.2g}" else f"{lo:.2g}–{hi:.2g}×"
            text += f"; the batch sizes in between need {span} the on-line epochs" + (
                " (about the same)" if hi <= 1.5 else ""
            )
        out.append(
            (
                "Epochs to target grow with the batch size",
                bool(ratio >= 2),
                "epochs to 99% of the best hold-out accuracy, by batch: "
                + text
                + " (holds when the largest batch needs at least twice the on-line "
                "epochs or never gets there)",
            )
        )

    # 3. How the best learning rate scales with the batch size.
    sizes = np.array([s["batch_size"] for s in fast], dtype=float)
    lrs = np.array([s["learning_rate"] for s in fast])
    lr_growth = lrs[-1] / lrs[0]
    batch_growth = sizes[-1] / sizes[0]
    steps = ", ".join(
        f"{a['batch']}→{b['batch']}: "
        f"{_ratio(b['learning_rate'] / a['learning_rate'])} for "
        f"{_ratio(b['batch_size'] / a['batch_size'])}"
        for a, b in zip(fast[:-1], fast[1:], strict=True)
    )
    linear = [
        s["batch"]
        for s, lr, b in zip(fast, lrs, sizes, strict=True)
        if lr / lrs[0] >= 0.5 * b / sizes[0]
    ]
    shortfall = (
        f"{_ratio(batch_growth / lr_growth)} short of linear scaling"
        if batch_growth >= lr_growth
        else "faster than linear"
    )
    linear_note = ""
    if len(linear) > 1 and linear[-1] != fast[-1]["batch"]:
        linear_note = (
            f"; it scales about linearly (Goyal et al.) up to batch "
            f"{linear[-1]}, then falls behind"
        )
    out.append(
        (
            "The best (mean-gradient) learning rate grows far less than linearly with "
            "the batch size",
            bool(batch_growth >= 5 * lr_growth),
            f"{lrs[0]:g} at batch {fast[0]['batch']} to {lrs[-1]:g} at batch "
            f"{fast[-1]['batch']}: {_ratio(lr_growth)} for a "
            f"{batch_growth:,.0f}× larger batch, {shortfall} (holds at 5× short or "
            f"more){linear_note}. Step by step, learning rate against batch growth: "
            f"{steps}. In Wilson & Martinez's "
            f"summed convention (lr / B) the best rate falls from "
            f"{fast[0]['learning_rate_summed']:.3g} to "
            f"{fast[-1]['learning_rate_summed']:.3g}",
        )
    )

    # 4. Seconds to target (projected where a time budget cut runs short).
    engines = _engines(by_batch)
    parts, holds = [], None
    times = {}
    for batch, v in by_batch.items():
        for engine, entry in v.items():
            if "learning_rate" not in entry:
                continue
            seconds, projected = _effective_seconds(entry)
            if math.isnan(seconds) and entry["reached"]:
                seconds = entry["seconds_to_target"]  # some seeds only
            if not math.isnan(seconds):
                times[engine, batch] = (seconds, projected, entry)

    def said(engine, batch):
        seconds, projected, _ = times[engine, batch]
        return (
            ("≈ " if projected else "")
            + _duration(seconds)
            + (" projected" if projected else "")
        )

    for engine in engines:
        batches = [b for b in by_batch if (engine, b) in times]
        if not batches:
            continue
        fastest = min(batches, key=lambda b: times[engine, b][0])
        text = f"{engine}'s fastest is batch {fastest} ({said(engine, fastest)})"
        online = next(
            (b for b in batches if times[engine, b][2]["batch_size"] == 1), None
        )
        if online is not None and online != fastest:
            slower = times[engine, online][0] / times[engine, fastest][0]
            per_row = [
                _duration(
                    times[engine, b][2]["seconds_per_epoch"]
                    / times[engine, b][2]["n_train"]
                )
                for b in (online, fastest)
            ]
            text += (
                f", on-line takes {said(engine, online)} ({slower:.3g}× as "
                f"long); per training row and epoch, on-line costs "
                f"{per_row[0]} and batch {fastest} {per_row[1]}"
            )
        elif online is not None and len(batches) > 1:
            second = min(
                (b for b in batches if b != online), key=lambda b: times[engine, b][0]
            )
            faster = times[engine, second][0] / times[engine, online][0]
            text += f", {faster:.3g}× faster than the next best (batch {second})"
        parts.append(text)
        if engine == engines[0] and online is not None:
            holds = times[engine, online][0] <= 1.1 * times[engine, fastest][0]
    speedups = [
        f"{b}: "
        + _ratio(
            times["sklearn", b][0] / times["fastsgd", b][0], times["sklearn", b][1]
        )
        for b in by_batch
        if ("fastsgd", b) in times and ("sklearn", b) in times
    ]
    if speedups:
        parts.append(
            "scikit-learn's time to target over fastsgd's, by batch: "
            + ", ".join(speedups)
        )
    if parts:
        out.append(
            (
                "With compiled on-line loops, on-line training also wins on seconds",
                holds,
                "; ".join(parts)
                + " (holds when fastsgd's on-line time is within 10% of "
                "its fastest batch size)",
            )
        )
    return out
