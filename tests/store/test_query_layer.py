"""The store is the query layer: no services module builds or runs a query itself.

Services decide (permission, rules, audit) and reach rows only through store functions, which
filter on the clinic. This test reads the services' source so the rule cannot drift: a call to
SQLAlchemy's statement builders, or a session's query methods, in a services module fails it.
Backups (raw SQL on their own connection to copy a whole database) and the computation cache
are the named exceptions.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import strigil.services

SERVICES = Path(strigil.services.__file__).parent
EXEMPT = {"backups.py", "computations.py"}
BUILDERS = {"select", "update", "delete", "insert", "text"}
SQLALCHEMY = ("sqlalchemy", "sqlalchemy.sql", "sqlalchemy.sql.expression", "sqlalchemy.future")
SESSION_METHODS = {"get", "get_one", "scalar", "scalars", "execute", "query"}


def _is_session(node: ast.expr, sessions: set[str]) -> bool:
    """A receiver that is (or names) a database session: ``session``, ``db``, an argument
    annotated ``Session``, or ``self.session``-like attributes."""
    if isinstance(node, ast.Name):
        return node.id in sessions
    return isinstance(node, ast.Attribute) and node.attr in {"session", "db"}


def violations(source: str, filename: str = "<source>") -> list[str]:
    """Where ``source`` builds a statement or calls a session's query methods itself."""
    tree = ast.parse(source, filename)
    builders: set[str] = set()  # local names bound to SQLAlchemy's statement builders
    modules: set[str] = set()  # local names bound to the sqlalchemy package itself
    sessions = {"session", "db"}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in SQLALCHEMY:
            builders |= {a.asname or a.name for a in node.names if a.name in BUILDERS}
        elif isinstance(node, ast.Import):
            modules |= {a.asname or a.name for a in node.names if a.name in SQLALCHEMY}
        elif isinstance(node, ast.arg) and node.annotation is not None:
            if "Session" in ast.unparse(node.annotation):
                sessions.add(node.arg)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        where = f"{filename}:{node.lineno}"
        if isinstance(func, ast.Name) and func.id in builders:
            found.append(f"{where} calls {func.id}()")
        elif isinstance(func, ast.Attribute):
            base = ast.unparse(func.value)
            if func.attr in BUILDERS and base.split(".")[0] in modules:
                found.append(f"{where} calls {base}.{func.attr}()")
            elif func.attr in SESSION_METHODS and _is_session(func.value, sessions):
                found.append(f"{where} calls {base}.{func.attr}()")
    return found


def _modules() -> list[Path]:
    return sorted(p for p in SERVICES.glob("*.py") if p.name not in EXEMPT)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.name)
def test_services_reach_rows_only_through_the_store(path: Path) -> None:
    found = violations(path.read_text(encoding="utf-8"), path.name)
    assert not found, "move these queries into a store function:\n" + "\n".join(found)


def test_the_scan_finds_what_it_forbids() -> None:
    source = """
import sqlalchemy as sa
from sqlalchemy import select as pick, update
from sqlalchemy.orm import Session

def f(session, db, other: Session, rows: dict):
    session.scalars(pick(A))
    db.execute(update(A))
    other.get(A, 1)
    sa.delete(A)
    rows.get("key")
"""
    found = violations(source)
    assert {line.split(" ", 1)[1] for line in found} == {
        "calls session.scalars()",
        "calls pick()",
        "calls db.execute()",
        "calls update()",
        "calls other.get()",
        "calls sa.delete()",
    }
    assert len(found) == 6  # the dictionary's get is not a query


def test_the_scan_covers_the_services() -> None:
    names = {p.name for p in _modules()}
    assert {"treatment.py", "visits.py", "screenings.py", "auth.py"} <= names
    assert not names & EXEMPT
