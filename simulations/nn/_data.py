"""Data for the training experiment, all offline: scikit-learn's digits (shipped inside
scikit-learn), a synthetic teacher task, or a user ``.npz`` with ``X`` and ``y``."""

from __future__ import annotations

import gzip
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from noise_theory._lib import ParameterValueError

__all__ = ["Dataset", "digits", "from_npz", "load_dataset", "synthetic"]


@dataclass(frozen=True)
class Dataset:
    """A train/test split; ``X`` are float64 ``(N, D)`` (``image_shape`` for a CNN view)."""

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    image_shape: tuple | None = None

    @property
    def n_features(self):
        return self.X_train.shape[1]


def _stratified_split(y, test_fraction, seed):
    """A fixed stratified split: per class, a seeded permutation, the first share to test."""
    rng = np.random.default_rng(seed)
    test = np.zeros(len(y), bool)
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        idx = idx[rng.permutation(len(idx))]
        test[idx[:round(test_fraction * len(idx))]] = True
    return ~test, test


def _standardise(Xtr, Xte):
    mu, sd = Xtr.mean(axis=0), Xtr.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    return (Xtr - mu) / sd, (Xte - mu) / sd


def _digits_arrays():
    """(X, y) of scikit-learn's digits: read straight from the CSV file that
    ``sklearn.datasets.load_digits`` reads (10 ms instead of the 1.3 s of importing
    scikit-learn), or through ``load_digits`` where that file is not found."""
    spec = importlib.util.find_spec("sklearn")
    path = (None if spec is None or spec.origin is None
            else Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz")
    if path is not None and path.is_file():
        try:
            with gzip.open(path, "rt") as fh:
                a = np.loadtxt(fh, delimiter=",")
            if a.shape == (1797, 65):
                return a[:, :-1].astype(np.float64), a[:, -1].astype(np.int64)
        except (OSError, ValueError, EOFError):
            pass
    from sklearn.datasets import load_digits  # deferred: scikit-learn

    d = load_digits()
    return d.data.astype(np.float64), d.target.astype(np.int64)


def digits(*, test_fraction=0.2):
    """scikit-learn's 1797 8x8 digit images, 10 classes; fixed stratified 80/20 split
    (seed 0), pixels standardised with the training set's mean and sd."""
    X, y = _digits_arrays()
    tr, te = _stratified_split(y, test_fraction, 0)
    Xtr, Xte = _standardise(X[tr], X[te])
    return Dataset("digits", Xtr, y[tr], Xte, y[te], 10, (1, 8, 8))


def synthetic(*, n=2000, d=64, classes=10, seed=0, test_fraction=0.2):
    """A teacher task: x ~ N(0, I_d) reshaped as 8x8 images for d = 64; labels the argmax
    of a fixed random two-layer ReLU teacher network (seeded; numpy only)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    W1 = rng.standard_normal((d, 32)) / np.sqrt(d)
    W2 = rng.standard_normal((32, classes))
    y = np.argmax(np.maximum(X @ W1, 0) @ W2, axis=1).astype(np.int64)
    tr, te = _stratified_split(y, test_fraction, 0)
    side = round(np.sqrt(d))
    shape = (1, side, side) if side * side == d else None
    Xtr, Xte = _standardise(X[tr], X[te])
    return Dataset("synthetic", Xtr, y[tr], Xte, y[te], classes, shape)


def from_npz(path, *, test_fraction=0.2):
    """A user ``.npz`` with ``X`` (N, D) or (N, C, H, W) and integer labels ``y`` (N,)."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as f:
            if "X" not in f or "y" not in f:
                raise ParameterValueError(f"`data` {str(path)!r} must hold arrays 'X' and 'y'; "
                                          f"got {sorted(f.files)}.")
            X, y = np.asarray(f["X"], np.float64), np.asarray(f["y"])
    except (OSError, ValueError) as exc:
        if isinstance(exc, ParameterValueError):
            raise
        raise ParameterValueError(f"`data` {str(path)!r} is not a readable .npz file ({exc}).") from None
    if X.ndim not in (2, 4) or len(X) != len(y) or len(X) < 10:
        raise ParameterValueError(f"`data`: X must be (N, D) or (N, C, H, W) with N >= 10 and y (N,); "
                                  f"got X.shape={X.shape}, y.shape={y.shape}.")
    if not np.all(np.isfinite(X)):
        raise ParameterValueError("`data`: X must be finite.")
    classes, y = np.unique(y, return_inverse=True)
    if len(classes) < 2:
        raise ParameterValueError(f"`data`: y must have >= 2 classes; got {len(classes)}.")
    shape = X.shape[1:] if X.ndim == 4 else None
    X = X.reshape(len(X), -1)
    tr, te = _stratified_split(y, test_fraction, 0)
    Xtr, Xte = _standardise(X[tr], X[te])
    return Dataset(path.stem, Xtr, y[tr].astype(np.int64), Xte, y[te].astype(np.int64),
                   len(classes), shape)


def load_dataset(data):
    """``"digits"``, ``"synthetic"`` or a path to a ``.npz`` file."""
    if data == "digits":
        return digits()
    if data == "synthetic":
        return synthetic()
    if isinstance(data, (str, Path)) and str(data).endswith(".npz"):
        return from_npz(data)
    raise ParameterValueError(f"`data` must be 'digits', 'synthetic' or a FILE.npz; got data={data!r}.")
