"""The forms derived from a feed schema (pydantic, SQLAlchemy, Polars) keep its rules, and
a change to the schema reaches every form."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Annotated, Any

import polars as pl
import pytest
import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

from serving import schemas as api
from storefront.feeds import validate_feeds
from storefront.feeds.forms import polars_schema, pydantic_model, sqlalchemy_columns
from storefront.feeds.schemas import EVENT_TYPES, SCHEMAS, Column, FeedSchema, Kind

EVENTS = SCHEMAS["events"]
Id = Annotated[str, StringConstraints(min_length=1, max_length=128, strip_whitespace=True)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _event_model(schema: FeedSchema = EVENTS) -> type[BaseModel]:
    return pydantic_model(schema, "Event", base=Strict, str_type=Id, defaults={"quantity": 1})


VALID: dict[str, Any] = {
    "event_id": "e1",
    "user_id": "u1",
    "session_id": "s1",
    "item_id": "i1",
    "event_type": "purchase",
    "timestamp": "2025-06-01T12:00:00+02:00",
    "quantity": 2,
    "unit_price": 9.5,
    "request_id": "r1",
}

# one model derived here, and the one the service serves: both obey the contract
MODELS = pytest.mark.parametrize("model", [_event_model(), api.Event], ids=["derived", "serving"])


@MODELS
def test_a_valid_event_is_accepted(model: type[BaseModel]) -> None:
    event = model.model_validate(VALID).model_dump()
    assert event["timestamp"] == dt.datetime(2025, 6, 1, 10, tzinfo=dt.UTC)
    assert event["quantity"] == 2 and event["unit_price"] == 9.5


@MODELS
def test_defaults_quantity_one_and_no_request_id(model: type[BaseModel]) -> None:
    bare = {k: v for k, v in VALID.items() if k not in ("quantity", "request_id")}
    event = model.model_validate(bare).model_dump()
    assert event["quantity"] == 1 and event["request_id"] is None
    assert model.model_validate({**VALID, "request_id": None}).model_dump()["request_id"] is None


@MODELS
@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("event_type", "teleport", "literal_error"),
        ("quantity", 0, "greater_than_equal"),
        ("unit_price", 0, "greater_than"),
        ("unit_price", -1.5, "greater_than"),
        ("timestamp", "2025-06-01T12:00:00", "timezone_aware"),
        ("colour", "red", "extra_forbidden"),
        ("user_id", "", "string_too_short"),
        ("item_id", "x" * 129, "string_too_long"),
        ("session_id", None, "string_type"),
    ],
)
def test_each_rule_is_refused_naming_the_field(
    model: type[BaseModel], field: str, value: object, error: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        model.model_validate({**VALID, field: value})
    [problem] = caught.value.errors()
    assert problem["loc"] == (field,) and problem["type"] == error, problem


@MODELS
def test_a_missing_required_field_is_named(model: type[BaseModel]) -> None:
    with pytest.raises(ValidationError) as caught:
        model.model_validate({k: v for k, v in VALID.items() if k != "unit_price"})
    assert [e["loc"] for e in caught.value.errors()] == [("unit_price",)]


def test_the_served_model_is_the_derived_one() -> None:
    assert api.Event.__name__ == "Event" and api.Event.__module__ == "serving.schemas"
    assert issubclass(api.Event, api.Strict)
    assert tuple(api.Event.model_fields) == EVENTS.column_names
    served = api.Event.model_json_schema()
    derived = pydantic_model(
        EVENTS, "Event", base=api.Strict, str_type=api.Id, defaults={"quantity": 1}
    ).model_json_schema()
    assert served["properties"] == derived["properties"]
    assert served["required"] == derived["required"]
    assert served["additionalProperties"] is False
    assert served["properties"]["quantity"] == {
        "default": 1,
        "description": EVENTS.column("quantity").description,
        "minimum": 1,
        "title": "Quantity",
        "type": "integer",
    }
    assert served["properties"]["event_type"]["enum"] == list(EVENT_TYPES)


def test_a_new_event_type_reaches_the_model_and_fits_the_table() -> None:
    """``EVENT_TYPES`` grows (as it did with ``return``): the derived forms follow it."""
    event_type = dataclasses.replace(
        EVENTS.column("event_type"), allowed=(*EVENT_TYPES, "exchange")
    )
    schema = dataclasses.replace(
        EVENTS,
        columns=tuple(event_type if c.name == "event_type" else c for c in EVENTS.columns),
    )
    model = _event_model(schema)
    assert model.model_validate({**VALID, "event_type": "exchange"}).model_dump()["event_type"]
    with pytest.raises(ValidationError):
        _event_model().model_validate({**VALID, "event_type": "exchange"})
    assert _event_model().model_validate({**VALID, "event_type": "return"}), "in the contract"
    assert sqlalchemy_columns(schema, str_lengths={"event_type": 16})
    with pytest.raises(ValueError, match="add_to_cart"):
        sqlalchemy_columns(EVENTS, str_lengths={"event_type": 5})


def test_unknown_columns_in_options_are_refused() -> None:
    with pytest.raises(ValueError, match="colour"):
        pydantic_model(EVENTS, "Event", defaults={"colour": "red"})
    with pytest.raises(ValueError, match="colour"):
        sqlalchemy_columns(EVENTS, str_lengths={"colour": 3})


@pytest.mark.parametrize("schema", list(SCHEMAS.values()), ids=list(SCHEMAS))
def test_sqlalchemy_columns_match_the_schema(schema: FeedSchema) -> None:
    table = sa.Table(schema.name, sa.MetaData(), *sqlalchemy_columns(schema))
    assert tuple(table.c.keys()) == schema.column_names
    assert tuple(table.primary_key.columns.keys()) == schema.key
    for col in schema.columns:
        assert table.c[col.name].nullable is (col.nullable and col.name not in schema.key)
    expected = {
        Kind.STR: sa.String,
        Kind.INT: sa.Integer,
        Kind.FLOAT: sa.Float,
        Kind.BOOL: sa.Boolean,
        Kind.DATETIME: sa.DateTime,
        Kind.DATE: sa.Date,
    }
    for col in schema.columns:
        assert isinstance(table.c[col.name].type, expected[col.kind]), col.name


def test_sqlalchemy_types_of_the_events_table() -> None:
    columns = {c.name: c for c in sqlalchemy_columns(EVENTS, str_lengths={"event_type": 16})}
    assert columns["event_id"].primary_key and not columns["event_id"].nullable
    nullable = [n for n, c in columns.items() if c.nullable]
    assert nullable == ["request_id", "order_id", "return_reason"]
    assert columns["event_type"].type.length == 16 and columns["user_id"].type.length == 128
    assert columns["timestamp"].type.timezone is True
    assert type(columns["quantity"].type) is sa.Integer
    big = {c.name: c for c in sqlalchemy_columns(EVENTS, big_integers=True)}
    assert isinstance(big["quantity"].type, sa.BigInteger)


def test_the_service_table_is_the_derived_columns_plus_its_own() -> None:
    from serving.events import EVENTS_TABLE

    assert tuple(EVENTS_TABLE.c.keys()) == (*EVENTS.column_names, "received_at", "pushed")
    assert tuple(EVENTS_TABLE.primary_key.columns.keys()) == EVENTS.key


def _valid_events_frame() -> pl.DataFrame:
    """A valid events table, in dtypes other than the canonical ones."""
    return pl.DataFrame(
        {
            "event_id": ["e1", "e2"],
            "user_id": ["u1", "u2"],
            "session_id": ["s1", "s2"],
            "item_id": ["i1", "i2"],
            "event_type": ["view", "return"],
            "timestamp": [dt.datetime(2025, 6, 1, 12), dt.datetime(2025, 6, 1, 13)],
            "quantity": [1, 3],
            "unit_price": [2, 5],
            "request_id": [None, "r1"],
            "order_id": [None, "o1"],
            "return_reason": [None, "damaged"],
        },
        schema_overrides={
            "event_type": pl.Categorical,
            "timestamp": pl.Datetime("ms", "Europe/London"),
            "quantity": pl.Int32,
            "unit_price": pl.Int16,
        },
    )


def test_the_polars_schema_is_what_the_validator_produces() -> None:
    clean = validate_feeds({"events": _valid_events_frame()})["events"]
    assert dict(clean.schema) == polars_schema(EVENTS)
    assert list(polars_schema(EVENTS)) == list(EVENTS.column_names)
    built = pl.DataFrame([dict.fromkeys(EVENTS.column_names)], schema=polars_schema(EVENTS))
    assert built.schema == clean.schema


@pytest.mark.parametrize("kind", list(Kind))
@pytest.mark.parametrize("nullable", [False, True])
def test_a_column_added_to_the_schema_reaches_every_form(kind: Kind, nullable: bool) -> None:
    """Every column of the events schema is in all three forms, whatever is added to it."""
    for schema in (EVENTS, _added(EVENTS, Column("extra", kind, nullable=nullable))):
        names = set(schema.column_names)
        model = _event_model(schema)
        assert set(model.model_fields) == names
        assert {c.name for c in sqlalchemy_columns(schema)} == names
        assert set(polars_schema(schema)) == names
    added = _added(EVENTS, Column("extra", kind, nullable=nullable))
    field = _event_model(added).model_fields["extra"]
    assert field.is_required() is not nullable
    [column] = [c for c in sqlalchemy_columns(added) if c.name == "extra"]
    assert column.nullable is nullable
    assert polars_schema(added)["extra"] == kind.dtype


def _added(schema: FeedSchema, column: Column) -> FeedSchema:
    return dataclasses.replace(schema, columns=(*schema.columns, column))


def test_the_served_forms_cover_the_events_schema() -> None:
    from serving.events import EVENTS_TABLE, validate_events

    rows = [api.Event.model_validate(VALID).model_dump()]
    frame = validate_events(rows, known_items=None)
    for name in EVENTS.column_names:
        assert name in api.Event.model_fields
        assert name in EVENTS_TABLE.c
        assert name in frame.columns


@MODELS
def test_a_return_carries_its_order_and_a_bounded_reason(model: type[BaseModel]) -> None:
    back = {**VALID, "event_type": "return", "order_id": "o-9", "return_reason": "too big"}
    event = model.model_validate(back).model_dump()
    assert event["event_type"] == "return" and event["order_id"] == "o-9"
    assert event["return_reason"] == "too big"
    assert model.model_validate(VALID).model_dump()["return_reason"] is None, "optional"
    limit = EVENTS.column("return_reason").max_length
    assert limit is not None
    model.model_validate({**back, "return_reason": "x" * limit})
    with pytest.raises(ValidationError) as caught:
        model.model_validate({**back, "return_reason": "x" * (limit + 1)})
    assert caught.value.errors()[0]["loc"] == ("return_reason",)


def test_the_return_reason_column_is_as_long_as_its_bound() -> None:
    columns = {c.name: c for c in sqlalchemy_columns(EVENTS)}
    assert columns["return_reason"].type.length == EVENTS.column("return_reason").max_length
    assert columns["order_id"].nullable and columns["return_reason"].nullable
