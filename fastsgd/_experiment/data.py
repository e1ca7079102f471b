"""The data: bundled datasets and CSV files (``load_dataset``), and each seed's
stratified 60/20/20 split, standardized with training statistics
(``split_dataset``)."""

import csv
import os
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from sklearn import datasets as sk_datasets
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from fastsgd._experiment.settings import DATASETS


@lru_cache(maxsize=8)
def _bundled(name):
    if name == "large":
        # PAPER.md's stand-in for Wilson & Martinez's 20,000-sample speech task.
        return sk_datasets.make_classification(
            n_samples=25_000,
            n_features=64,
            n_informative=32,
            n_classes=10,
            n_clusters_per_class=3,
            random_state=0,
        )
    loader = {
        "digits": sk_datasets.load_digits,
        "digits-x10": sk_datasets.load_digits,
        "iris": sk_datasets.load_iris,
        "wine": sk_datasets.load_wine,
        "breast_cancer": sk_datasets.load_breast_cancer,
    }[name]
    return loader(return_X_y=True)


def _read_csv(path, target):
    if target is None:
        raise ValueError(f"{path}: a CSV dataset needs --target COLUMN (target=...)")
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            raise ValueError(f"{path} is empty")
        header = [h.strip() for h in header]
        if target not in header:
            raise ValueError(
                f"{path} has no column {target!r}; its columns are {header}"
            )
        t = header.index(target)
        labels, rows = [], []
        for line_no, row in enumerate(reader, start=2):
            if not row:
                continue
            if len(row) != len(header):
                raise ValueError(
                    f"{path}, line {line_no}: {len(row)} fields, the header has "
                    f"{len(header)}"
                )
            labels.append(row[t].strip())
            try:
                rows.append([float(v) for i, v in enumerate(row) if i != t])
            except ValueError as exc:
                raise ValueError(
                    f"{path}, line {line_no}: every column but the target must be "
                    f"numeric ({exc})"
                ) from None
    X = np.asarray(rows, dtype=np.float64)
    if X.shape[0] < 10 or X.shape[1] == 0:
        raise ValueError(f"{path}: need at least 10 rows and one feature column")
    if not np.isfinite(X).all():
        raise ValueError(f"{path}: the feature columns contain NaN or infinity")
    return X, np.asarray(labels)


def load_dataset(name, target=None):
    """Features and labels of a bundled dataset or a CSV file.

    Parameters
    ----------
    name : str
        One of ``DATASETS`` or the path of a CSV file with a header row.
    target : str, default=None
        For a CSV file, the name of the label column (every other column must
        be numeric).

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    repeat : int
        How many times the training split is repeated (10 for ``digits-x10``).
    """
    if name in DATASETS:
        X, y = _bundled(name)
        return (
            np.asarray(X, dtype=np.float64),
            np.asarray(y),
            (10 if name == "digits-x10" else 1),
        )
    if os.path.exists(name):
        X, y = _read_csv(name, target)
        return X, y, 1
    raise ValueError(
        f"unknown dataset {name!r}: use one of {', '.join(DATASETS)} or a CSV path"
    )


@dataclass
class Split:
    """One seed's stratified 60/20/20 split, standardized with training statistics.

    ``train``, ``holdout`` and ``test`` are row indices into the original data
    (before any repetition of the training rows); ``y_*`` are class codes
    ``0 .. n_classes - 1``.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_holdout: np.ndarray
    y_holdout: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    train: np.ndarray
    holdout: np.ndarray
    test: np.ndarray
    n_classes: int


def split_dataset(X, y, seed, repeat=1):
    """Stratified 60% train / 20% hold-out / 20% test split, standardized with the
    training rows' mean and standard deviation.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
        Class labels of any type.
    seed : int
        Seeds the split.
    repeat : int, default=1
        Repeat the training rows this many times (the redundancy check:
        ``digits-x10``); hold-out and test rows are not repeated.

    Returns
    -------
    Split
    """
    classes, codes = np.unique(np.asarray(y), return_inverse=True)
    if classes.shape[0] < 2:
        raise ValueError("the target has a single class: there is nothing to compare")
    rows = np.arange(X.shape[0])
    rest, test = train_test_split(
        rows, test_size=0.2, stratify=codes, random_state=seed
    )
    train, holdout = train_test_split(
        rest, test_size=0.25, stratify=codes[rest], random_state=seed
    )
    scaler = StandardScaler().fit(X[train])

    def part(index, times=1):
        Xp = np.ascontiguousarray(scaler.transform(X[index]))
        yp = codes[index]
        if times > 1:
            Xp, yp = np.tile(Xp, (times, 1)), np.tile(yp, times)
        return Xp, yp

    X_train, y_train = part(train, repeat)
    X_holdout, y_holdout = part(holdout)
    X_test, y_test = part(test)
    return Split(
        X_train,
        y_train,
        X_holdout,
        y_holdout,
        X_test,
        y_test,
        train,
        holdout,
        test,
        classes.shape[0],
    )
