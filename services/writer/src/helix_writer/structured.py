"""What the writer needs of a model: JSON that validates against a schema, and the numbers
to size its requests. `engine.JsonGenerator` is the real one; tests give a scripted one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel

from helix.events import ModelRef
from helix.events.data import AssetCost
from helix_writer import prompts

D = TypeVar("D", bound=BaseModel)


@dataclass(frozen=True)
class Generated(Generic[D]):
    """A structured generation: the validated value, the parameters it really ran with, its model time."""

    value: D
    parameters: dict[str, Any]
    cost: AssetCost | None = None


class StructuredGenerator(Protocol):
    """JSON that validates against a schema, and the numbers to size requests (tokens per
    character at worst; tokens left after a prompt)."""

    model_ref: ModelRef
    tokens_per_char: int

    async def generate_json(self, messages: prompts.Messages, schema: type[D], *, max_new_tokens: int, seed: int | None) -> Generated[D]: ...

    def room(self, messages: prompts.Messages) -> int: ...
