"""Shared building blocks of the scenario models: the base class and checked number types."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


class Spec(BaseModel):
    """Base: frozen, unknown keys rejected, numeric ids accepted as text."""

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


def _not_text_or_bool(value: Any) -> Any:
    # YAML `true` or "5" must not pass as a number: a typo is never silently accepted.
    if isinstance(value, bool | str):
        raise ValueError(f"must be a number, got {value!r}")
    return value


def _count(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"must be a whole number, got {value!r}")
    return value


Number = Annotated[float, BeforeValidator(_not_text_or_bool), Field(allow_inf_nan=False)]
Id = Annotated[str, Field(min_length=1)]
Day = Annotated[Number, Field(ge=0)]
NonNegative = Annotated[Number, Field(ge=0)]
Positive = Annotated[Number, Field(gt=0)]
Probability = Annotated[Number, Field(ge=0, le=1)]
Count = Annotated[int, BeforeValidator(_count)]
PositiveCount = Annotated[int, BeforeValidator(_count), Field(ge=1)]
