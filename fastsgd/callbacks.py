"""Ready-made callbacks for ``MLPClassifier(callbacks=[...])``.

A callback is any callable ``callback(estimator, record)`` run after each epoch, with
the epoch's ``history_`` record; returning True stops training. A callback may also
define ``on_train_begin(estimator)`` and ``on_train_end(estimator)``, which ``fit``
calls around its epochs (``partial_fit`` does not).

Examples
--------
A custom rule: stop once the training loss is below 0.1.

>>> from sklearn.datasets import load_iris
>>> from sklearn.preprocessing import StandardScaler
>>> from fastsgd import MLPClassifier
>>> X, y = load_iris(return_X_y=True)
>>> X = StandardScaler().fit_transform(X)
>>> def low_loss(estimator, record):
...     return record["train_loss"] < 0.1
>>> clf = MLPClassifier((8,), solver="sgd", batch_size=1, learning_rate_init=0.01,
...                     max_iter=100, callbacks=[low_loss], random_state=0)
>>> clf.fit(X, y).history_[-1]["train_loss"] < 0.1
True
"""

import copy
import os
import sys
import tempfile

import joblib

__all__ = ["Checkpoint", "ProgressBar"]


class ProgressBar:
    """A progress display for long fits.

    Uses a tqdm bar when tqdm is installed (``pip install ".[progress]"``),
    otherwise one line on standard error, rewritten in place after every epoch.
    Each epoch shows the training loss and, when a validation set is watched,
    the monitored score and the best epoch so far. A ``fit`` opens and closes
    its own display; under ``partial_fit`` one display counts the calls (each is
    an epoch) until :meth:`close`. A copy, a clone or a pickle of a progress
    bar starts closed.

    Pass it in ``callbacks``; it never stops training.

    Parameters
    ----------
    file : file-like, default=None
        Where to write; None means ``sys.stderr`` at the time of the fit.

    See Also
    --------
    fastsgd.MLPClassifier : Its ``callbacks`` parameter takes this display.

    Examples
    --------
    >>> import io
    >>> from sklearn.datasets import load_iris
    >>> from fastsgd import MLPClassifier
    >>> from fastsgd.callbacks import ProgressBar
    >>> X, y = load_iris(return_X_y=True)
    >>> out = io.StringIO()  # where the display goes (default: standard error)
    >>> clf = MLPClassifier((8,), solver="sgd", learning_rate_init=0.01,
    ...                     n_iter_no_change=2, random_state=0,
    ...                     callbacks=[ProgressBar(out)])
    >>> clf = clf.fit(X, y)
    >>> "epoch" in out.getvalue()
    True
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
        """Open the display, closing one that is still open.

        ``fit`` calls it before its first epoch; under ``partial_fit`` the first
        epoch opens the display itself, with an unknown total.

        Parameters
        ----------
        estimator : MLPClassifier or MLPRegressor
            The estimator being fitted.
        total : int or str, default=None
            The most epochs to expect; None means ``estimator.max_iter``.

        See Also
        --------
        close : End the display.

        Examples
        --------
        >>> import io
        >>> from fastsgd import MLPClassifier
        >>> from fastsgd.callbacks import ProgressBar
        >>> bar = ProgressBar(io.StringIO())
        >>> bar.on_train_begin(MLPClassifier(max_iter=20))
        >>> bar.close()
        """
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
        """Show one more epoch; returns False (never stops training)."""
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
        """End the display.

        ``fit`` calls it after its last epoch, also when training stops early,
        is interrupted or fails.

        Parameters
        ----------
        estimator : MLPClassifier or MLPRegressor
            The estimator that was fitted.

        See Also
        --------
        close : The same, without an estimator.

        Examples
        --------
        >>> import io
        >>> from fastsgd import MLPClassifier
        >>> from fastsgd.callbacks import ProgressBar
        >>> clf = MLPClassifier(max_iter=20)
        >>> bar = ProgressBar(io.StringIO())
        >>> bar.on_train_begin(clf)
        >>> bar.on_train_end(clf)
        """
        self.close()

    def close(self):
        """End the display.

        ``fit`` closes its display itself; call this after a series of
        ``partial_fit`` calls, whose display stays open between calls. Closing
        a display that is not open does nothing.

        See Also
        --------
        on_train_begin : Open the display.

        Examples
        --------
        >>> import io
        >>> from sklearn.datasets import load_iris
        >>> from fastsgd import MLPClassifier
        >>> from fastsgd.callbacks import ProgressBar
        >>> X, y = load_iris(return_X_y=True)
        >>> out = io.StringIO()
        >>> bar = ProgressBar(out)
        >>> clf = MLPClassifier((8,), solver="sgd", callbacks=[bar])
        >>> for chunk in range(3):
        ...     clf = clf.partial_fit(X, y, classes=[0, 1, 2])
        >>> bar.close()
        """
        if not hasattr(self, "_out"):
            return
        if self._bar is not None:
            self._bar.close()
        else:
            self._out.write("\n")
            self._out.flush()
        del self._out, self._bar, self._total, self._done


class Checkpoint:
    """Save the model to a file whenever the watched score improves.

    After every epoch that is the best so far (``record["is_best"]``: the
    validation score when a validation set is watched, in ``fit`` or in
    ``partial_fit`` given ``X_val``; the training loss otherwise), the whole
    estimator is saved with ``joblib.dump``, without its ``callbacks`` (which
    need not pickle: set them again on the loaded model if you want them). The
    file then holds the best
    epoch's model, the one ``restore_best_weights`` gives at the end of the fit:
    ``joblib.load`` it to predict, or to go on training with
    ``warm_start=True``. A process killed mid-fit leaves the last best model
    on disk.

    The file is written atomically: into a temporary file in the same
    directory, then renamed over ``path`` (``os.replace``), so a failed or
    interrupted write leaves the previous file as it was.

    Pass it in ``callbacks``; it never stops training.

    Parameters
    ----------
    path : str or path-like
        The file to write (its directory must exist).

    Attributes
    ----------
    saved_epoch_ : int or None
        The epoch (as numbered in ``history_``) last saved; None before any save.

    See Also
    --------
    ProgressBar : A progress display for long fits.
    fastsgd.MLPClassifier : Its ``callbacks`` parameter takes this callback.

    Examples
    --------
    >>> import os
    >>> import tempfile
    >>> import joblib
    >>> import numpy as np
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.model_selection import train_test_split
    >>> from fastsgd import MLPClassifier
    >>> from fastsgd.callbacks import Checkpoint
    >>> X, y = load_iris(return_X_y=True)
    >>> X_fit, X_val, y_fit, y_val = train_test_split(X, y, random_state=0)
    >>> path = os.path.join(tempfile.mkdtemp(), "best.joblib")
    >>> checkpoint = Checkpoint(path)
    >>> clf = MLPClassifier((8,), solver="sgd", learning_rate_init=0.01,
    ...                     n_iter_no_change=3, random_state=0,
    ...                     callbacks=[checkpoint])
    >>> clf = clf.fit(X_fit, y_fit, X_val=X_val, y_val=y_val)
    >>> checkpoint.saved_epoch_ == clf.best_epoch_
    True
    >>> best = joblib.load(path)
    >>> np.array_equal(best.predict_proba(X_val), clf.predict_proba(X_val))
    True
    """

    def __init__(self, path):
        self.path = path
        self.saved_epoch_ = None

    def __repr__(self):
        return f"Checkpoint({os.fspath(self.path)!r})"

    def __call__(self, estimator, record):
        """Save ``estimator`` if ``record`` is the best epoch so far.

        Parameters
        ----------
        estimator : MLPClassifier or MLPRegressor
            The estimator being fitted, with this epoch's weights.
        record : dict
            The epoch's ``history_`` record.

        Returns
        -------
        bool
            False: a checkpoint never stops training.

        See Also
        --------
        save : Write the file.

        Examples
        --------
        >>> import os
        >>> import tempfile
        >>> from sklearn.datasets import load_iris
        >>> from fastsgd import MLPClassifier
        >>> from fastsgd.callbacks import Checkpoint
        >>> X, y = load_iris(return_X_y=True)
        >>> clf = MLPClassifier((4,), max_iter=1).partial_fit(X, y, classes=[0, 1, 2])
        >>> checkpoint = Checkpoint(os.path.join(tempfile.mkdtemp(), "m.joblib"))
        >>> checkpoint(clf, clf.history_[-1])
        False
        >>> checkpoint.saved_epoch_
        1
        """
        if record["is_best"]:
            # A shallow copy shares the weights; the callbacks need not pickle.
            saved = copy.copy(estimator)
            saved.callbacks = None
            self.save(saved)
            self.saved_epoch_ = record["epoch"]
        return False

    def save(self, estimator):
        """Write ``estimator`` to ``path`` atomically.

        It is dumped into a temporary file next to ``path``, flushed to disk,
        then renamed over ``path``; if anything fails, the temporary file is
        removed and ``path`` is left as it was.

        Parameters
        ----------
        estimator : object
            What to save (with ``joblib.dump``).

        See Also
        --------
        Checkpoint : Calls it after each epoch that is the best so far.

        Examples
        --------
        >>> import os
        >>> import tempfile
        >>> import joblib
        >>> from fastsgd.callbacks import Checkpoint
        >>> path = os.path.join(tempfile.mkdtemp(), "x.joblib")
        >>> Checkpoint(path).save({"anything": 1})
        >>> joblib.load(path)
        {'anything': 1}
        """
        path = os.fspath(self.path)
        directory, name = os.path.split(os.path.abspath(path))
        fd, temporary = tempfile.mkstemp(prefix=f".{name}.", dir=directory)
        try:
            with os.fdopen(fd, "wb") as file:
                joblib.dump(estimator, file)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
