"""Typed shorthand for running a query on an apsw connection and taking all its rows.

apsw types a row as a tuple of every SQLite value type; the store's queries know their column
types, so they take rows as ``Any`` here, in one place, instead of casting at every call.
"""

from __future__ import annotations

from typing import Any

import apsw


def q(conn: apsw.Connection, sql: str, params: Any = ()) -> list[Any]:
    """All rows of one statement."""
    return conn.execute(sql, params).fetchall()
