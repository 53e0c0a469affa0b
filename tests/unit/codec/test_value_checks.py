"""Values that skipped validation are checked as they are encoded: a wrong value is an
EncodeError naming the model, the field path and the key, never a raw exception and
never an item the model cannot read back."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel

from _dynamap.model.model import model_info
from dynamap import EncodeError, Model, PartitionKey, SortKey, from_item, to_item


class Genre(enum.Enum):
    DRAMA = "drama"
    NOIR = 7


class Info(BaseModel):
    """A plain nested model: assignments to it are not validated."""

    rating: int = 0
    score: Decimal = Decimal(0)
    plot: str = ""
    ratio: float = 0.0
    rank: int | None = None


class Movie(Model, table="movies"):
    pk: Annotated[str, PartitionKey()]
    sk: Annotated[str, SortKey()]
    title: str = ""
    info: Info = Info()
    ranks: list[int] = [1, 2, 3]
    names: list[str] = []
    maybe: list[int | None] = []
    by_name: dict[str, int] = {}
    infos: list[Info] = []
    tags: set[str] = set()
    scores: set[int] = set()
    pair: tuple[str, int] = ("", 0)
    either: int | str = 0
    extra: dict[str, Any] = {}
    anything: Any = None
    genre: Genre = Genre.DRAMA
    kind: Literal["a", "b"] = "a"
    raw: bytes = b""
    when: dt.datetime | None = None
    day: dt.date | None = None
    uid: uuid.UUID | None = None
    flag: bool = False


def movie() -> Movie:
    return Movie(pk="m#1", sk="x", infos=[Info(), Info()])


def setter(name: str, value: Any) -> Callable[[Movie], None]:
    """Set a field on the instance without validation (as model_construct would)."""
    return lambda m: m.__dict__.__setitem__(name, value)


WRONG: list[tuple[str, Callable[[Movie], Any], str]] = [
    ("nested int", lambda m: setattr(m.info, "rating", 8.25), r"Movie\.info\.rating"),
    ("nested str", lambda m: setattr(m.info, "plot", 5), r"Movie\.info\.plot"),
    ("nested float", lambda m: setattr(m.info, "ratio", "x"), r"Movie\.info\.ratio"),
    ("nested Decimal", lambda m: setattr(m.info, "score", "8.25"), r"Movie\.info\.score"),
    ("nested None", lambda m: setattr(m.info, "plot", None), r"Movie\.info\.plot"),
    ("str in list[int]", lambda m: m.ranks.append("7"), r"Movie\.ranks\[3\]"),
    ("float in list[int]", lambda m: m.ranks.append(1.5), r"Movie\.ranks\[3\]"),
    ("bool in list[int]", lambda m: m.ranks.append(True), r"Movie\.ranks\[3\]"),
    ("None in list[int]", lambda m: m.ranks.append(None), r"Movie\.ranks\[3\]"),
    ("int in list[str]", lambda m: m.names.extend(["a", 1]), r"Movie\.names\[1\]"),
    ("str in list[int|None]", lambda m: m.maybe.extend([None, "x"]), r"Movie\.maybe\[1\]"),
    ("map value", lambda m: m.by_name.update(k="x"), r"Movie\.by_name\['k'\]"),
    ("map key", lambda m: m.by_name.update({3: 1}), r"Movie\.by_name\[3\]"),
    ("model in a list", lambda m: setattr(m.infos[1], "rank", "1"), r"Movie\.infos\[1\]\.rank"),
    ("dict for a model", setter("info", {"rating": 1}), r"Movie\.info .*: expected Info"),
    ("set member", lambda m: m.tags.update({"a", 5}), r"Movie\.tags"),
    ("float in set[int]", lambda m: m.scores.add(1.5), r"Movie\.scores"),
    ("tuple length", setter("pair", ("a",)), r"Movie\.pair"),
    ("tuple member", setter("pair", ("a", "b")), r"Movie\.pair\[1\]"),
    ("union", setter("either", 1.5), r"Movie\.either .*: expected int \| str"),
    ("list for a str", setter("title", ["a"]), r"Movie\.title .*: expected str"),
    ("str for a list", setter("ranks", "123"), r"Movie\.ranks .*: expected list\[int\]"),
    ("None for a str", setter("title", None), r"Movie\.title .*: expected str, got None"),
    ("deep in Any", lambda m: m.extra.update(k=[1, object()]), r"Movie\.extra\['k'\]\[1\]"),
    (
        "deep in Any model",
        setter("anything", [Info.model_construct(rating="x")]),
        r"Movie\.anything\[0\]\.rating",
    ),
    ("raw enum value", setter("genre", "drama"), r"Movie\.genre .*: expected Genre"),
    ("outside the Literal", setter("kind", "c"), r"Movie\.kind .*: expected one of 'a', 'b'"),
    ("str for bytes", setter("raw", "x"), r"Movie\.raw .*: expected bytes"),
    ("str for datetime", setter("when", "2024-01-01"), r"Movie\.when .*: expected datetime"),
    ("datetime for date", setter("day", dt.datetime(2024, 1, 1, 5)), r"Movie\.day"),
    ("str for UUID", setter("uid", "x"), r"Movie\.uid .*: expected UUID"),
    ("int for bool", setter("flag", 1), r"Movie\.flag .*: expected bool"),
    ("nan", lambda m: setattr(m.info, "ratio", float("nan")), r"Movie\.info\.ratio .*finite"),
]


@pytest.mark.parametrize(("change", "where"), [c[1:] for c in WRONG], ids=[c[0] for c in WRONG])
def test_a_wrong_value_is_an_encode_error_naming_model_path_and_key(
    change: Callable[[Movie], Any], where: str
):
    m = movie()
    change(m)
    with pytest.raises(EncodeError, match=where) as info:
        to_item(m)
    error = info.value
    assert "(key pk='m#1', sk='x')" in str(error)
    assert error.key == "pk='m#1', sk='x'"
    assert error.path.startswith("Movie")
    assert str(error).startswith(error.path)


def test_the_path_and_message_are_exact():
    m = movie()
    m.ranks.append("7")  # type: ignore[arg-type]
    with pytest.raises(EncodeError) as info:
        to_item(m)
    assert str(info.value) == "Movie.ranks[3] (key pk='m#1', sk='x'): expected int, got str '7'"
    assert info.value.path == "Movie.ranks[3]"


@pytest.mark.filterwarnings("ignore:Pydantic serializer warnings")
@pytest.mark.parametrize(
    ("change", "field", "stored"),
    [
        # What pydantic's own validation would have made of them: stored so they read back.
        (lambda m: setattr(m.info, "ratio", 8), "info", {"ratio": {"N": "8.0"}}),
        (lambda m: setattr(m.info, "score", 8.25), "info", {"score": {"N": "8.25"}}),
        (lambda m: setattr(m.info, "score", 7), "info", {"score": {"N": "7"}}),
        (lambda m: setattr(m.info, "rating", Genre.NOIR.value), "info", {"rating": {"N": "7"}}),
        (lambda m: m.ranks.append(_Seven(7)), "ranks", None),
        (lambda m: m.names.append(_Text("s")), "names", None),
        (setter("raw", bytearray(b"x")), "raw", None),
        (setter("ranks", (4, 5)), "ranks", None),
    ],
)
def test_values_of_a_compatible_type_are_stored_as_validation_would(
    change: Callable[[Movie], Any], field: str, stored: dict[str, Any] | None
):
    m = movie()
    change(m)
    item = to_item(m)
    if stored is not None:
        for attr, av in stored.items():
            assert item[field]["M"][attr] == av
    back = from_item(Movie, item)
    assert back.model_dump()[field] == Movie.model_validate(m.model_dump()).model_dump()[field]


class _Seven(int):
    pass


class _Text(str):
    pass


def test_an_unvalidated_nested_assignment_is_not_a_raw_attribute_error():
    """`info.score = "8.25"` used to reach Decimal.is_finite on a str (AttributeError)."""
    m = movie()
    m.info.score = "8.25"  # type: ignore[assignment]
    with pytest.raises(EncodeError, match=r"Movie\.info\.score .*expected Decimal, got str"):
        to_item(m)


# --- raw exceptions from the encoder become EncodeErrors with a cause -----------------------


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (setter("title", "\ud800"), r"Movie\.title"),
        (lambda m: setattr(m.info, "plot", "ok \udfff"), r"Movie\.info\.plot"),
        (lambda m: m.names.append("\ud800"), r"Movie\.names\[0\]"),
        (lambda m: m.extra.update(k={"x": "\ud800"}), r"Movie\.extra\['k'\]\['x'\]"),
        (lambda m: m.tags.add("\ud800"), r"Movie\.tags"),
    ],
)
def test_a_lone_surrogate_is_an_encode_error_naming_the_field(
    change: Callable[[Movie], Any], where: str
):
    m = movie()
    change(m)
    with pytest.raises(EncodeError, match=where + r" \(key pk='m#1', sk='x'\): .*UTF-8") as info:
        to_item(m)
    # Caught by the encoder (UnicodeEncodeError) or earlier, by sizing (an EncodeError).
    assert isinstance(info.value.__cause__, UnicodeEncodeError | EncodeError)


def test_recursion_is_an_encode_error_naming_the_field():
    deep: list[Any] = []
    for _ in range(5000):
        deep = [deep]
    m = movie()
    setter("anything", deep)(m)
    with pytest.raises(EncodeError, match=r"^Movie\.anything") as info:
        to_item(m)
    cause = info.value.__cause__
    while isinstance(cause, EncodeError) and cause.__cause__ is not None:
        cause = cause.__cause__
    assert cause is not None


def test_a_missing_field_is_an_encode_error():
    m = Movie.model_construct(pk="m#1", sk="x")
    del m.__dict__["ranks"]
    with pytest.raises(EncodeError, match=r"Movie\.ranks \(key pk='m#1', sk='x'\): has no value"):
        to_item(m)


def test_the_unchecked_encoder_checks_types_too():
    m = movie()
    m.ranks.append("7")  # type: ignore[arg-type]
    with pytest.raises(EncodeError, match=r"^Movie\.ranks\[3\]: expected int"):
        model_info(Movie).codec.encode(m)


def test_none_is_fine_where_the_field_allows_it():
    class Loose(Model, table="loose"):
        pk: Annotated[str, PartitionKey()]
        a: str | None = None
        b: str = None  # type: ignore[assignment] - a None default makes None valid
        c: Any = 1
        d: Literal["x", None] = "x"

    value = Loose.model_construct(pk="k", a=None, b=None, c=None, d=None)
    assert to_item(value) == {"pk": {"S": "k"}}


class Shade(enum.Enum):  # a plain enum: its members and their values hash apart
    RED = "red"


class Loud(str):
    """A str subclass that hashes apart from its text (its own __hash__)."""

    def __hash__(self) -> int:
        return hash(("loud", str(self)))


class Palette(Model, table="palettes"):
    pk: Annotated[str, PartitionKey()]
    names: set[str] = set()
    anything: Any = None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("names", {Loud("red"), "red"}),  # stored as its text
        ("anything", {Loud("red"), "red"}),
        ("anything", {"m": {Loud("red"), "red"}}),
    ],
)
def test_a_string_set_whose_members_encode_alike_is_refused(field: str, value: Any):
    palette = Palette.model_construct(pk="p", **{field: value})  # not validated
    assert len(value if isinstance(value, set) else value["m"]) == 2
    with pytest.raises(EncodeError, match=r"Palette\.anything|Palette\.names") as caught:
        to_item(palette)
    assert "twice" in str(caught.value) and "'red'" in str(caught.value)
    with pytest.raises(EncodeError, match="twice"):
        model_info(Palette).encode_item(palette)


def test_an_enum_member_and_its_value_in_an_any_set_are_refused():
    palette = Palette.model_construct(pk="p", anything={Shade.RED, "red"})
    with pytest.raises(EncodeError, match=r"Palette\.anything"):  # whichever comes first
        to_item(palette)


def test_distinct_converted_string_sets_still_encode():
    palette = Palette.model_construct(pk="p", names={Loud("red"), "blue"})
    assert sorted(to_item(palette)["names"]["SS"]) == ["blue", "red"]
