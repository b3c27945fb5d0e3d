"""PostgreSQL answers SQL in a database of the test's own."""

from __future__ import annotations

import psycopg
import pytest


@pytest.mark.services("postgres")
def test_row_inserted_in_a_fresh_database_is_selected_back(fresh_database_url: str) -> None:
    with psycopg.connect(fresh_database_url) as conn:
        conn.execute("CREATE TABLE models (id serial PRIMARY KEY, slug text UNIQUE NOT NULL)")
        inserted = conn.execute(
            "INSERT INTO models (slug) VALUES (%s) RETURNING id", ("sentiment-small",)
        ).fetchone()
        selected = conn.execute("SELECT id, slug FROM models WHERE slug = %s", ("sentiment-small",))
        assert inserted is not None
        assert selected.fetchall() == [(inserted[0], "sentiment-small")]
        database = conn.execute("SELECT current_database()").fetchone()
    assert database is not None
    assert database[0] == fresh_database_url.rsplit("/", 1)[1]
