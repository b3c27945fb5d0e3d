"""Create and drop PostgreSQL databases on the shared test server (isolation by name)."""

from __future__ import annotations

from urllib.parse import urlsplit


def create_database(postgres_url: str, name: str) -> str:
    """Create database `name` on the server and return its URL."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return urlsplit(postgres_url)._replace(path=f"/{name}").geturl()


def drop_database(postgres_url: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(postgres_url, autocommit=True) as conn:
        # FORCE: a test that leaked a connection must not leave its database behind.
        drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
        conn.execute(drop.format(sql.Identifier(name)))
