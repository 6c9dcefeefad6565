"""Run history stays true with many workers on one PostgreSQL.

Every worker's run starts by reaping abandoned runs (``leases.reap_abandoned_runs``). On PostgreSQL
(READ COMMITTED, no write lock taken up front as on SQLite) a worker finishing its run can commit between
the reaper's read of the running runs and its read of their ``run:`` leases: the reaper then found the
run "running" without a lease and overwrote its ``succeeded`` with ``interrupted`` -- the wrong history a
4-worker bench showed. The race is made certain here on the real database: the finishing transaction is
committed (by a second connection) right when the reaper's session asks for the lease, through
SQLAlchemy's statement event on the real engine; the code under test is not touched.
"""

from __future__ import annotations

from sqlalchemy import event, select

import storage
from storage import leases
from storage.leases import Holder
from storage.models import CrawlRun


def test_a_run_finishing_while_another_worker_reaps_keeps_its_status(db):
    with db.session() as s:
        run_id = storage.start_run(s, trigger="manual", archive="pywb:http://127.0.0.1:1/x", sites=None)
        holder = Holder.new("run")
        leases.acquire(s, holder, [f"run:{run_id}", "site:a.example"], run_id=run_id)
    finished = []

    def finish_meanwhile(conn, cursor, statement, parameters, context, executemany):
        # The reaper has read the running runs and now looks for this run's lease: the run finishes first.
        if not finished and "FROM leases" in statement:
            finished.append(True)
            with db.session() as other:  # another connection of the pool: another worker
                storage.finish_run(other, run_id, status="succeeded", counts={"pages_complete": 1})
                leases.release(other, holder)

    event.listen(db.engine, "before_cursor_execute", finish_meanwhile)
    try:
        with db.session() as s:
            reaped = leases.reap_abandoned_runs(s)
    finally:
        event.remove(db.engine, "before_cursor_execute", finish_meanwhile)
    assert finished, "the reaper never looked for the run's lease"
    with db.session() as s:
        run = s.scalars(select(CrawlRun).where(CrawlRun.id == run_id)).one()
        assert (run.status, run.errors) == ("succeeded", [])
    assert reaped == []
