"""Seeds derived from several integers (numpy only; training and sampling both use it)."""

import numpy as np


def derived_seed(*parts: int) -> int:
    """A 63-bit seed that is a pure function of ``parts`` (e.g. (seed, epoch) or (seed, record)):
    independent streams without the collisions of adding or multiplying seeds."""
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1, dtype=np.uint64)[0] % (2**63))
