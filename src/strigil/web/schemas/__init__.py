"""Pydantic request and response models of the JSON API, one module per domain."""

from pydantic import BaseModel, ConfigDict


class Schema(BaseModel):
    """Base of every API model: unknown fields are refused so typos do not pass silently."""

    model_config = ConfigDict(extra="forbid", from_attributes=True)
