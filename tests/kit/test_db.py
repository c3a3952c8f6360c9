"""SQLite under concurrent writers (turash/kit/db.py): a request that read and then writes waits for the writer's
lock instead of failing with "database is locked" when another connection committed in between."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from turash.kit.db import make_engine, ready_to_write


def _engine(tmp_path: Path) -> sa.Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with engine.begin() as c:
        c.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        c.exec_driver_sql("INSERT INTO t VALUES (0)")
    return engine


def _other_writer_commits(engine: sa.Engine) -> None:
    with engine.begin() as c:
        c.exec_driver_sql("INSERT INTO t VALUES (1)")


def test_read_then_write_after_another_commit_fails_without_it(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    with Session(engine) as session:
        session.execute(sa.text("SELECT count(*) FROM t")).scalar_one()  # a snapshot is taken
        _other_writer_commits(engine)
        with pytest.raises(OperationalError, match="locked"):  # SQLite's stale-snapshot upgrade: no waiting
            session.execute(sa.text("INSERT INTO t VALUES (2)"))
    engine.dispose()


def test_ready_to_write_ends_the_reads_and_takes_the_lock(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    with Session(engine) as session:
        assert session.execute(sa.text("SELECT count(*) FROM t")).scalar_one() == 1
        _other_writer_commits(engine)
        ready_to_write(session)
        session.execute(sa.text("INSERT INTO t VALUES (2)"))
        session.commit()
    with engine.connect() as c:
        assert c.exec_driver_sql("SELECT count(*) FROM t").scalar_one() == 3
    engine.dispose()
