"""Pseudonymised user ids and field names of request errors."""

from __future__ import annotations

import json

from serving.security import Pseudonymiser, _rewrite_validation, field_name


def test_pseudonyms_are_keyed_and_stable() -> None:
    one, other = Pseudonymiser("k1"), Pseudonymiser("k2")
    assert one("u42") == one("u42") != other("u42")
    assert "u42" not in one("u42") and len(one("u42")) == 16
    assert one(None) is None
    assert Pseudonymiser(None)("u42") != Pseudonymiser(None)("u42"), "random key per process"


def test_field_names() -> None:
    assert field_name(("events", 3, "quantity")) == "events.3.quantity"
    assert field_name(()) == "body"


def test_bentoml_validation_answer_becomes_422_naming_fields() -> None:
    detail = [{"type": "less_than_equal", "loc": ["k"], "msg": "too big"}]
    body = json.dumps({"error": "1 validation error", "detail": detail}).encode()
    rewritten = _rewrite_validation(body)
    assert rewritten is not None and b'"fields": ["k"]' in rewritten
    assert _rewrite_validation(b"not json") is None
    assert _rewrite_validation(b'{"error": "other"}') is None
