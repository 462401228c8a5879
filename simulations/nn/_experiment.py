"""The training experiment: a grid of independent runs (model x depth x normaliser x batch
size x seed) on the engine's executors, aggregated over seeds.

Every run draws from its own stream ``named_seed(root, model, depth, norm, m, seed_index)``
and is deterministic given it, and results are put back in grid order, so the numbers are
bit-identical whatever the executor (serial, processes, a Dask cluster's executor) and
whatever ``workers`` is.
"""

from __future__ import annotations

import functools
import os
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field

import numpy as np

from noise_theory._lib import ParameterValueError, choice, positive_int

from ..mc import as_seed_sequence, die_with_parent, named_seed, progress, signals_held, terminate_pool
from ._data import load_dataset
from ._train import MODELS, NORMS, TrainConfig, train

__all__ = ["DEFAULT_GRID", "ROW_FIELDS", "ExperimentResult", "aggregate", "run_experiment"]

DEFAULT_GRID = {"models": ("mlp", "cnn"), "depths": (2, 6), "norms": NORMS,
                    "batch_sizes": (2, 4, 8, 16, 32, 64), "seeds": 3, "epochs": 8}

ROW_FIELDS = ["model", "depth", "norm", "batch_size", "seeds", "epochs", "test_accuracy_mean",
              "test_accuracy_sd", "test_accuracy_population_mean",
              "test_accuracy_population_sd", "train_loss_mean", "diverged", "seconds"]


@functools.lru_cache(maxsize=4)
def _data(spec):
    return load_dataset(spec)


def _run_one(spec, config, seed):
    """One run (module level, so processes and Dask can pickle it); a plain dict back."""
    r = train(config, _data(spec), seed=seed)
    return {"test_accuracy": r.test_accuracy, "test_accuracy_population": r.test_accuracy_population,
            "train_loss": r.train_loss, "diverged": r.diverged, "epoch_loss": r.epoch_loss,
            "epoch_test_accuracy": r.epoch_test_accuracy, "steps": r.steps, "seconds": r.seconds}


@dataclass
class ExperimentResult:
    """``runs``: one dict per (model, depth, norm, m, seed); ``rows``: aggregated over seeds."""

    data: str
    entropy: int
    epochs: int
    runs: list = field(default_factory=list)
    rows: list = field(default_factory=list)


def _cost(task):
    cfg = task[1]
    per_step = (3.0 if cfg.model == "cnn" else 1.0) * (1 + cfg.depth / 2)
    return per_step * (1 + cfg.batch_size / 8) / cfg.batch_size


def run_experiment(*, data="digits", models=DEFAULT_GRID["models"], depths=DEFAULT_GRID["depths"],
                   norms=DEFAULT_GRID["norms"], batch_sizes=DEFAULT_GRID["batch_sizes"],
                   seeds=DEFAULT_GRID["seeds"], epochs=DEFAULT_GRID["epochs"], base_lr=0.1,
                   m0=32, tau0=0.9, schedule="paper", rng=None, workers=None, executor=None,
                   show_progress=None):
    """Run the grid and aggregate it.

    Parameters
    ----------
    data : str
        ``"digits"``, ``"synthetic"`` or a ``FILE.npz``.
    models, depths, norms, batch_sizes : sequences
        The grid (each run trains ``epochs`` epochs; lr = ``base_lr * m / 64``).
    seeds : int
        Runs per cell (>= 1; the mean and sd are over them).
    rng : int or SeedSequence, optional
        Root seed; run ``(model, depth, norm, m, i)`` uses ``named_seed(root, model, depth,
        norm, m, i)``.
    workers : int, optional
        Processes (default all cores; 1 runs in this process). Ignored with `executor`.
    executor : concurrent.futures.Executor, optional
        Any executor (e.g. ``dask.distributed.Client(...).get_executor()``); the caller owns it.

    Returns
    -------
    ExperimentResult
    """
    models = [choice(x, "model", MODELS) for x in models]
    norms = [choice(x, "norm", NORMS) for x in norms]
    depths = [positive_int(d, "depth") for d in depths]
    batch_sizes = [positive_int(m, "batch_size", minimum=2) for m in batch_sizes]
    seeds = positive_int(seeds, "seeds")
    epochs = positive_int(epochs, "epochs", minimum=2)
    dataset = _data(str(data))
    if "cnn" in models and dataset.image_shape is None:
        raise ParameterValueError(f"`model`='cnn' needs image data; {data!r} has flat features "
                                  "(give X as (N, C, H, W) in the .npz).")
    root = as_seed_sequence(rng)
    tasks = []
    for model in models:
        for depth in depths:
            for norm in norms:
                for m in batch_sizes:
                    cfg = TrainConfig(model=model, depth=depth, norm=norm, batch_size=m,
                                      epochs=epochs, base_lr=base_lr, m0=m0, tau0=tau0,
                                      schedule=schedule).validate()
                    for i in range(seeds):
                        tasks.append(((model, depth, norm, m, i), cfg,
                                      named_seed(root, model, depth, norm, m, i)))
    results = [None] * len(tasks)
    workers = (os.cpu_count() or 1) if workers is None else positive_int(workers, "workers")
    spec = str(data)
    with progress(total=len(tasks), desc="bn-noise train", enabled=show_progress, unit="run") as bar:
        if executor is None and workers == 1:
            for k, (_, cfg, seq) in enumerate(tasks):
                results[k] = _run_one(spec, cfg, seq)
                bar.update(1)
        else:
            own = None
            if executor is None:
                own = executor = _process_pool(workers)
            try:
                order = sorted(range(len(tasks)), key=lambda k: -_cost(tasks[k]))  # longest first
                with signals_held():   # the first submit forks the workers
                    futs = {executor.submit(_run_one, spec, tasks[k][1], tasks[k][2]): k
                            for k in order}
                for f in as_completed(futs):
                    results[futs[f]] = f.result()
                    bar.update(1)
            except BaseException:
                if own is not None:   # Ctrl-C, SIGTERM, an error: stop the runs now
                    terminate_pool(own)
                    own = None
                raise
            finally:
                if own is not None:
                    own.shutdown(cancel_futures=True)
    runs = [{"model": key[0], "depth": key[1], "norm": key[2], "batch_size": key[3],
             "seed_index": key[4], **res} for (key, _, _), res in zip(tasks, results)]
    return ExperimentResult(spec, int(root.entropy), epochs, runs, aggregate(runs, epochs))


def _process_pool(workers):
    """`workers` processes for the runs: forked on Linux (they start in milliseconds with
    everything imported, and a plain script needs no ``if __name__ == "__main__"`` guard),
    spawned elsewhere. A run only trains numpy/numba layers, nothing that a fork could find
    locked by another thread of the caller."""
    import multiprocessing  # deferred: only with workers > 1

    method = "fork" if sys.platform.startswith("linux") else "spawn"
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context(method),
                               initializer=die_with_parent, initargs=(os.getpid(),))


def _mean_sd(values):
    v = np.asarray([x for x in values if np.isfinite(x)], float)
    if not len(v):
        return float("nan"), float("nan")
    return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else float("nan")


def aggregate(runs, epochs):
    """One row per (model, depth, norm, batch_size): mean and sd over seeds (diverged runs
    excluded from the means and counted in ``diverged``), mean curves per epoch."""
    cells = {}
    for r in runs:
        cells.setdefault((r["model"], r["depth"], r["norm"], r["batch_size"]), []).append(r)
    rows = []
    for (model, depth, norm, m), rs in cells.items():
        acc, acc_sd = _mean_sd([r["test_accuracy"] for r in rs])
        pop, pop_sd = _mean_sd([r["test_accuracy_population"] for r in rs])
        loss, _ = _mean_sd([r["train_loss"] for r in rs])
        ok = [r for r in rs if not r["diverged"]]
        curves = {}
        for key in ("epoch_loss", "epoch_test_accuracy"):
            curves[key] = (np.mean([r[key] for r in ok], axis=0).tolist() if ok else [])
        rows.append({"model": model, "depth": depth, "norm": norm, "batch_size": m,
                     "seeds": len(rs), "epochs": epochs, "test_accuracy_mean": acc,
                     "test_accuracy_sd": acc_sd, "test_accuracy_population_mean": pop,
                     "test_accuracy_population_sd": pop_sd, "train_loss_mean": loss,
                     "diverged": sum(r["diverged"] for r in rs),
                     "seconds": float(sum(r["seconds"] for r in rs)), **curves})
    return rows
