"""The in-memory due index against a brute-force model, and the database keeping it right."""

from __future__ import annotations

import time
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from app.queue import Filter, Queue, QueueDeps
from app.queue.due import DueIndex
from tests.queue.helpers import MSG, CollectingDelivery, make_config

ops = st.lists(
    st.tuples(st.sampled_from("abcdef"), st.one_of(st.none(), st.integers(0, 20).map(float))), max_size=40
)


@settings(max_examples=80, deadline=None)
@given(ops, st.integers(0, 25), st.sets(st.sampled_from("abcdef")), st.integers(0, 6))
def test_due_index_matches_model(
    changes: list[tuple[str, float | None]], now: int, skip: set[str], limit: int
) -> None:
    idx = DueIndex()
    model: dict[str, float] = {}
    for d, t in changes:
        idx.put(d, t)
        if t is None:
            model.pop(d, None)
        else:
            model[d] = t
    want = sorted((t, d) for d, t in model.items() if t <= now and d not in skip)
    got = idx.due(float(now), skip, limit)
    assert len(got) == min(limit, len(want))
    assert sorted(model[d] for d in got) == [t for t, _ in want[: len(got)]]
    assert idx.earliest() == (min(model.values()) if model else None)
    # Asking does not change the answer.
    assert idx.due(float(now), skip, limit) == got


def test_db_keeps_index_current(tmp_path: Path) -> None:
    q = Queue(QueueDeps(config=make_config(), data_dir=tmp_path, local_delivery=CollectingDelivery()))
    try:
        now = time.time()
        ids = q.add("mjl", "mjl@example.org", ["a@one.example", "b@two.example"], MSG)
        assert {d for _, _, d in q.db.due(now + 1, [], 10)} == {"one.example", "two.example"}
        assert [d for _, _, d in q.db.due(now + 1, ["one.example"], 10)] == ["two.example"]
        q.hold(Filter(to="@one.example"), True)
        assert [d for _, _, d in q.db.due(now + 1, [], 10)] == ["two.example"]
        q.schedule(Filter(ids=[ids[1]]), 3600, True)
        assert q.db.due(now + 1, [], 10) == []
        nd = q.db.next_due()
        assert nd is not None and nd > now + 3500
        q.drop(Filter(ids=[ids[1]]))
        assert q.db.next_due() is None
        q.hold(Filter(), False)
        assert [(i, d) for i, _, d in q.db.due(now + 1, [], 10)] == [(ids[0], "one.example")]
        q.close()
        # Rebuilt from the database at open.
        q = Queue(QueueDeps(config=make_config(), data_dir=tmp_path, local_delivery=CollectingDelivery()))
        assert [(i, d) for i, _, d in q.db.due(now + 1, [], 10)] == [(ids[0], "one.example")]
    finally:
        q.close()
