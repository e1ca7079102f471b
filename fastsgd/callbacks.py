"""Ready-made callbacks for ``MLPClassifier(callbacks=[...])``.

A callback is any callable ``callback(estimator, record)`` run after each epoch, with
the epoch's ``history_`` record; returning True stops training. A callback may also
define ``on_train_begin(estimator)`` and ``on_train_end(estimator)``.
"""

import sys

__all__ = ["ProgressBar"]


class ProgressBar:
    """A progress display for long fits.

    Uses a tqdm bar when tqdm is installed (``pip install "fastsgd[progress]"``),
    otherwise one line on standard error, rewritten in place after every epoch.
    A ``fit`` opens and closes its own display; under ``partial_fit`` one display
    counts the calls (each is an epoch) until :meth:`close`.

    Parameters
    ----------
    file : file-like, default=None
        Where to write; None means ``sys.stderr`` at the time of the fit.

    Examples
    --------
    >>> from fastsgd import MLPClassifier
    >>> from fastsgd.callbacks import ProgressBar
    >>> clf = MLPClassifier(max_iter=50, callbacks=[ProgressBar()])
    """

    def __init__(self, file=None):
        self.file = file

    def __repr__(self):
        if self.file is None:
            return "ProgressBar()"
        # A stream's repr may carry its memory address; its name does not.
        name = getattr(self.file, "name", None)
        shown = name.strip("<>") if isinstance(name, str) else type(self.file).__name__
        return f"ProgressBar(file=<{shown}>)"

    def on_train_begin(self, estimator, total=None):
        """Open the display; ``total`` epochs at most (``max_iter`` for ``fit``)."""
        self.close()
        self._total = estimator.max_iter if total is None else total
        self._done = 0
        self._out = self.file if self.file is not None else sys.stderr
        try:
            from tqdm.auto import tqdm
        except ImportError:
            self._bar = None
        else:
            total = self._total if isinstance(self._total, int) else None
            self._bar = tqdm(total=total, unit="epoch", file=self._out)

    def __call__(self, estimator, record):
        if not hasattr(self, "_out"):  # partial_fit: no begin, no known total
            self.on_train_begin(estimator, total="?")
        self._done += 1
        summary = {"train_loss": f"{record['train_loss']:.4f}"}
        if "valid_score" in record:
            summary["valid"] = f"{record['valid_score']:.4f}"
            summary["best_epoch"] = estimator.best_epoch_
        if self._bar is not None:
            self._bar.update(1)
            self._bar.set_postfix(summary, refresh=False)
        else:
            fields = "  ".join(f"{k} {v}" for k, v in summary.items())
            self._out.write(f"\repoch {self._done}/{self._total}  {fields}")
            self._out.flush()
        return False

    def __getstate__(self):
        # An open display (a stream, a tqdm bar) stays with the original: a copy,
        # a clone or a pickle starts closed.
        return {"file": self.file}

    def on_train_end(self, estimator):
        self.close()

    def close(self):
        """End the display (``fit`` does it; call it after ``partial_fit`` calls)."""
        if not hasattr(self, "_out"):
            return
        if self._bar is not None:
            self._bar.close()
        else:
            self._out.write("\n")
            self._out.flush()
        del self._out, self._bar, self._total, self._done
