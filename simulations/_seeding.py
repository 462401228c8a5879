"""Seeds: everything random starts from one ``numpy.random.SeedSequence``."""

from __future__ import annotations

import numpy as np

__all__ = ["as_seed_sequence"]


def as_seed_sequence(rng=None):
    """Return a ``SeedSequence`` for `rng` (NEP 19 conventions).

    - ``None``: fresh OS entropy (read ``.entropy`` to replay the run);
    - an int or sequence of ints: ``SeedSequence(rng)``;
    - a ``SeedSequence``: itself;
    - a ``Generator`` or ``BitGenerator``: a child spawned from its seed sequence, so two
      calls with the same generator give independent streams, and a generator built from
      the same seed gives the same streams again.
    """
    if rng is None:
        return np.random.SeedSequence()
    if isinstance(rng, np.random.SeedSequence):
        return rng
    if isinstance(rng, np.random.Generator):
        rng = rng.bit_generator
    if isinstance(rng, np.random.BitGenerator):
        seq = rng.seed_seq
        if not isinstance(seq, np.random.SeedSequence):
            raise TypeError("`rng` must have a SeedSequence-based bit generator.")
        return seq.spawn(1)[0]
    if isinstance(rng, (bool, np.bool_)):
        raise TypeError(f"`rng` must be None, an int seed, a SeedSequence or a Generator; got rng={rng!r}.")
    try:
        return np.random.SeedSequence(rng)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"`rng` must be None, an int seed >= 0, a SeedSequence or a Generator; got rng={rng!r}."
        ) from exc
