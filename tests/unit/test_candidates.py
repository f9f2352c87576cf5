"""The pure pieces of an import row: raw_data as JSON text and the new contacts' ids."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from outreach.contacts.candidates import RawDataEncoder
from outreach.db import time_ordered_uuid, time_ordered_uuid_texts

TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)


@given(headers=st.lists(TEXT, min_size=1, max_size=8, unique=True), data=st.data())
def test_raw_data_is_written_exactly_as_json_dumps_writes_it(headers, data):
    values = data.draw(st.lists(TEXT, min_size=len(headers), max_size=len(headers)))
    raw_data = dict(zip(headers, values, strict=True))
    encoded = RawDataEncoder(headers)(raw_data)
    assert encoded == json.dumps(raw_data, ensure_ascii=False)
    assert json.loads(encoded) == raw_data


def test_a_short_row_is_encoded_with_the_columns_it_has():
    raw_data = {"email": "ada@example.com"}
    assert json.loads(RawDataEncoder(["email", "name"])(raw_data)) == raw_data


def test_bulk_ids_are_version_7_uuids_of_the_given_millisecond_and_all_different():
    at = datetime(2026, 11, 24, 21, 45, 0, 123_000, tzinfo=UTC)
    texts = time_ordered_uuid_texts(at, 2000)
    ids = [uuid.UUID(text) for text in texts]
    assert [str(found) for found in ids] == texts
    assert {(found.version, found.variant) for found in ids} == {(7, uuid.RFC_4122)}
    assert {found.int >> 80 for found in ids} == {int(at.timestamp() * 1000)}
    assert len(set(texts)) == len(texts)
    assert time_ordered_uuid(at).int >> 80 == int(at.timestamp() * 1000)
