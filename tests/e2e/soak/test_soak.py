"""A short soak (3 kill/resume cycles per job, a smaller CRM): nothing lost, stale or resurrected.

The full soak with its figures is ``bench/soak.py`` (20 cycles). This one keeps the same
scenario small enough for every CI run: real CLIs in subprocesses, SIGKILLs at seeded moments,
edits racing the runs, then one complete incremental run and a row-by-row comparison.
"""

from __future__ import annotations

from tests.support.soak.driver import Options, run_soak


def test_kill_and_resume_cycles_with_racing_edits_leave_every_row_newest() -> None:
    lines: list[str] = []
    report = run_soak(
        Options(
            cycles=3,
            seed=7,
            kill_max=4.0,
            scale=0.2,
            crm_latency=0.005,
            books_delay=0.1,
            books_import=400,
        ),
        lines.append,
    )
    figures = "\n".join(lines)
    for family in report.families:
        assert family.error is None, figures
        assert family.final is not None
        assert family.final.clean, figures
        assert all(c.resumed.clean for c in family.cycles), figures
        assert family.comparison is not None
        assert family.comparison.tables, figures
        for hidden in family.comparison.hidden:
            assert hidden.total, figures  # converted, pending and inactive records took part
            assert hidden.correct == hidden.total, figures
    assert report.totals() == {"missing": 0, "extra": 0, "stale": 0, "deleted_visible": 0}, figures
    mutations = {k for f in report.families for k, v in f.mutations.items() if v}
    assert {"mass_update", "delete", "convert", "item_delete", "price_edit"} <= mutations
