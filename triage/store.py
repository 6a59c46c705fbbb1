"""The case store: SQLAlchemy over SQLite (default, a file in the output folder) or any URL."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, TypeVar

from sqlalchemy import create_engine, func, inspect, select
from sqlalchemy.orm import Session

from triage.errors import TriageError
from triage.records import Base, SourceFile

R = TypeVar("R", bound=Base)
FLUSH_EVERY = 2000  # bulk inserts: flush in batches, never hold a whole database in memory


class CaseStore:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_engine(url)
        self._refuse_used_database()
        Base.metadata.create_all(self.engine)
        self.session = Session(self.engine, expire_on_commit=False, autoflush=False)
        self._pending = 0

    @classmethod
    def in_folder(cls, folder: Path) -> "CaseStore":
        return cls(f"sqlite:///{(folder / 'case.sqlite').resolve()}")

    def _refuse_used_database(self) -> None:
        """One run, one store: mixing two examinations in one database would corrupt both records."""
        names = set(inspect(self.engine).get_table_names())
        if SourceFile.__tablename__ in names:
            with self.engine.connect() as c:
                used = c.execute(select(func.count()).select_from(SourceFile.__table__)).scalar()
            if used:
                raise TriageError(f"the database {self.engine.url.render_as_string(hide_password=True)} already holds "
                                  "a run; give a new, empty database with --db")

    def add(self, record: Base) -> None:
        self.session.add(record)
        self._pending += 1
        if self._pending >= FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        self.session.flush()
        self._pending = 0

    def commit(self) -> None:
        self.session.commit()
        self._pending = 0

    def all(self, cls: type[R]) -> Iterator[R]:
        """Records of one type in insertion (id) order: deterministic for rules and reports."""
        self.flush()
        yield from self.session.scalars(select(cls).order_by(cls.id)).yield_per(1000)

    def count(self, cls: type[Base]) -> int:
        self.flush()
        return self.session.scalar(select(func.count()).select_from(cls)) or 0

    def get(self, cls: type[R], id_: int) -> R | None:
        return self.session.get(cls, id_)

    def close(self) -> None:
        self.session.close()
        self.engine.dispose()
