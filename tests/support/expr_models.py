"""Models for the expression tests: reserved words, hostile stored names, every container."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, Field

from dynamap import Attr, GlobalIndex, Model, PartitionKey, SortKey


class Address(BaseModel):
    city: str
    zip: int | None = None


class Account(Model, table="accounts"):
    pk: Annotated[str, PartitionKey()]
    sk: Annotated[str, SortKey()]
    status: str = "active"  # reserved words as field names
    name: str = ""
    data: str | None = None
    email: str | None = None
    visits: int = 0
    total: Decimal = Decimal(0)
    ratio: float = 0.0
    score: Annotated[int, Field(ge=0)] = 0
    raw: bytes = b""
    tags: set[str] = set()
    codes: set[int] = set()
    history: list[str] = []
    address: Address | None = None
    attrs: dict[str, int] = {}
    extra: dict[str, Any] = {}
    user_id: Annotated[str, Attr("user-id.v2")] = ""  # `-` and `.` in the stored name
    nick: str = Field(default="", alias="nick-name")

    by_status: ClassVar[GlobalIndex] = GlobalIndex("status")

    @property
    def label(self) -> str:
        return f"{self.name} ({self.status})"

    def greet(self) -> str:
        return f"hi {self.name}"
