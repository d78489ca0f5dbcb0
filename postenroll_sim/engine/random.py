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

import numpy as np

from ..scenario import stochastic as st

BLOCK = 1024


class Streams:
    def __init__(self, seed: np.random.SeedSequence):
        self.seed = seed

    def generator(self, name: str) -> np.random.Generator:
        key = zlib.crc32(name.encode("utf-8"))
        child = np.random.SeedSequence(self.seed.entropy, spawn_key=(*self.seed.spawn_key, key))
        return np.random.Generator(np.random.PCG64(child))


class Sampler:
    """Draws one float at a time from a block-filled buffer."""

    __slots__ = ("_draw", "_buffer", "_index")

    def __init__(self, draw: Callable[[int], np.ndarray]):
        self._draw = draw
        self._buffer: list[float] = []
        self._index = 0

    def __call__(self) -> float:
        index = self._index
        if index == len(self._buffer):
            self._buffer = self._draw(BLOCK).tolist()
            index = 0
        self._index = index + 1
        return self._buffer[index]


class Constant:
    __slots__ = ("value",)

    def __init__(self, value: float):
        self.value = float(value)

    def __call__(self) -> float:
        return self.value


def sampler(
    dist: st.Fixed
    | st.Exponential
    | st.Lognormal
    | st.Gamma
    | st.Uniform
    | st.Triangular
    | st.Empirical,
    rng: np.random.Generator,
) -> Sampler | Constant:
    """A sampler for a scenario distribution (all non-negative by construction)."""
    if isinstance(dist, st.Fixed):
        return Constant(dist.value)
    if isinstance(dist, st.Exponential):
        return Sampler(lambda n: rng.exponential(dist.mean_, n))
    if isinstance(dist, st.Lognormal):
        mu = math.log(dist.median)
        return Sampler(lambda n: rng.lognormal(mu, dist.sigma, n))
    if isinstance(dist, st.Gamma):
        shape = 1.0 / dist.cv**2
        scale = dist.mean_ / shape
        return Sampler(lambda n: rng.gamma(shape, scale, n))
    if isinstance(dist, st.Uniform):
        return Sampler(lambda n: rng.uniform(dist.min, dist.max, n))
    if isinstance(dist, st.Triangular):
        return Sampler(lambda n: rng.triangular(dist.min, dist.mode, dist.max, n))
    if isinstance(dist, st.Empirical):
        values = np.asarray(dist.values, dtype=float)
        weights = np.asarray(
            dist.weights if dist.weights is not None else [1.0] * len(values), dtype=float
        )
        p = weights / weights.sum()
        return Sampler(lambda n: rng.choice(values, size=n, p=p))
    raise TypeError(f"unknown distribution {dist!r}")  # pragma: no cover


def uniforms(rng: np.random.Generator) -> Sampler:
    """U(0, 1) draws, for yes/no decisions (pass, abandon, no-show)."""
    return Sampler(rng.random)


def exponential(mean: float, rng: np.random.Generator) -> Sampler | Constant:
    """Exponential gaps with the given mean (an infinite mean: never)."""
    if math.isinf(mean):
        return Constant(math.inf)
    return Sampler(lambda n: rng.exponential(mean, n))
