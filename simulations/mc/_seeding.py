"""Seeds: everything random starts from one ``numpy.random.SeedSequence``."""

from __future__ import annotations

import hashlib

import numpy as np

from noise_theory._lib import ParameterTypeError

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
            raise ParameterTypeError("`rng` must have a SeedSequence-based bit generator.")
        return seq.spawn(1)[0]
    if isinstance(rng, (bool, np.bool_)):
        raise ParameterTypeError(
            f"`rng` must be None, an int seed, a SeedSequence or a Generator; got rng={rng!r}.")
    try:
        return np.random.SeedSequence(rng)
    except (TypeError, ValueError) as exc:
        raise ParameterTypeError(
            f"`rng` must be None, an int seed >= 0, a SeedSequence or a Generator; got rng={rng!r}."
        ) from exc


def _name_key(name):
    """A stable 32-bit integer for a stream name (BLAKE2b; the same on every machine)."""

    digest = hashlib.blake2b(str(name).encode("utf-8"), digest_size=4).digest()
    return int.from_bytes(digest, "little")


def named_seed(root, *names):
    """The ``SeedSequence`` of the stream called `names` under `root`.

    Streams are keyed by *names* (hashed with BLAKE2b to 32-bit words appended to the root's
    spawn key), never by arithmetic on numbers, so two checks can share a stream only if
    they share a name, and adding a check never moves another check's stream.

    >>> import numpy as np
    >>> root = np.random.SeedSequence(0)
    >>> a = named_seed(root, "bn", "m=4")
    >>> b = named_seed(root, "bn", "m=4")
    >>> a.spawn_key == b.spawn_key and a.spawn_key != named_seed(root, "bn", "m=5").spawn_key
    True
    """
    root = as_seed_sequence(root)
    key = tuple(_name_key(n) for n in names)
    return np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, *key))
