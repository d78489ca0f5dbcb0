"""Random streams and samplers.

Every random quantity has its own stream, named after what it draws ("hires",
"course:SAFE-201:duration", ...) and derived from the replication's SeedSequence.
A stream depends on its name, not on the order streams are created, so changing one
course's parameters leaves every other stream untouched (common random numbers across
the variants of a sweep). Draws are made in blocks: one numpy call per 1,024 values.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from itertools import chain, repeat

import numpy as np

from ..columns import SECONDS_PER_DAY, whole_second
from ..scenario import stochastic as st

BLOCK = 1024


class Streams:
    def __init__(self, seed: np.random.SeedSequence):
        self.seed = seed

    def generator(self, name: str) -> np.random.Generator:
        key = zlib.crc32(name.encode("utf-8"))
        child = np.random.SeedSequence(self.seed.entropy, spawn_key=(*self.seed.spawn_key, key))
        return np.random.Generator(np.random.PCG64(child))


Draw = Callable[[], float]  # a sampler: call it for the next value


def block_sampler(draw: Callable[[int], np.ndarray]) -> Draw:
    """Values of `draw(BLOCK)`, one at a time. The result is the `__next__` of a C-level
    iterator over the blocks, so a draw costs no Python frame (it is on the hot path)."""
    blocks = iter(lambda: draw(BLOCK).tolist(), None)  # never None: an endless stream
    return chain.from_iterable(blocks).__next__


def constant(value: float) -> Draw:
    return repeat(float(value)).__next__


def seconds(draw: Callable[[int], np.ndarray]) -> Callable[[int], np.ndarray]:
    """Durations in days rounded to whole seconds as they are drawn (S1)."""
    return lambda n: np.floor(draw(n) * SECONDS_PER_DAY + 0.5) / SECONDS_PER_DAY


def sampler(
    dist: st.Fixed
    | st.Exponential
    | st.Lognormal
    | st.Gamma
    | st.Uniform
    | st.Triangular
    | st.Empirical,
    rng: np.random.Generator,
) -> Draw:
    """A sampler for a scenario distribution (all non-negative by construction), its
    values whole seconds (S1)."""
    if isinstance(dist, st.Fixed):
        return constant(whole_second(dist.value))
    if isinstance(dist, st.Exponential):
        return block_sampler(seconds(lambda n: rng.exponential(dist.mean_, n)))
    if isinstance(dist, st.Lognormal):
        mu = math.log(dist.median)
        return block_sampler(seconds(lambda n: rng.lognormal(mu, dist.sigma, n)))
    if isinstance(dist, st.Gamma):
        shape = 1.0 / dist.cv**2
        scale = dist.mean_ / shape
        return block_sampler(seconds(lambda n: rng.gamma(shape, scale, n)))
    if isinstance(dist, st.Uniform):
        return block_sampler(seconds(lambda n: rng.uniform(dist.min, dist.max, n)))
    if isinstance(dist, st.Triangular):
        return block_sampler(seconds(lambda n: rng.triangular(dist.min, dist.mode, dist.max, n)))
    if isinstance(dist, st.Empirical):
        values = np.asarray(dist.values, dtype=float)
        weights = np.asarray(
            dist.weights if dist.weights is not None else [1.0] * len(values), dtype=float
        )
        p = weights / weights.sum()
        return block_sampler(seconds(lambda n: rng.choice(values, size=n, p=p)))
    raise TypeError(f"unknown distribution {dist!r}")  # pragma: no cover


def uniforms(rng: np.random.Generator) -> Draw:
    """U(0, 1) draws, for yes/no decisions (pass, abandon, no-show)."""
    return block_sampler(rng.random)


def exponential(mean: float, rng: np.random.Generator) -> Draw:
    """Exponential gaps with the given mean, in whole seconds (an infinite mean: never)."""
    if math.isinf(mean):
        return constant(math.inf)
    return block_sampler(seconds(lambda n: rng.exponential(mean, n)))
