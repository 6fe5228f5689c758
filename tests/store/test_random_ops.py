"""Random sequences of operations checked against a small model: after every step verify()
passes and each mailbox holds exactly the messages (bytes, flags, UIDs) the model predicts."""

from __future__ import annotations

import random

import pytest

from app.store import Account, MailboxExists, MailboxNotEmpty, MailboxNotFound
from tests.store.conftest import make_msg

FLAGS = ["\\Seen", "\\Deleted", "\\Flagged", "$Junk", "kwa", "kwb"]


class Model:
    def __init__(self) -> None:
        self.boxes: dict[str, dict[int, tuple[bytes, frozenset[str]]]] = {}
        self.uidnext: dict[str, int] = {}

    def add(self, mb: str, data: bytes, flags: frozenset[str]) -> int:
        uid = self.uidnext[mb]
        self.boxes[mb][uid] = (data, flags)
        self.uidnext[mb] = uid + 1
        return uid


def _check(acc: Account, model: Model) -> None:
    assert acc.verify() == []
    names = {m.name for m in acc.list_mailboxes()}
    assert names == set(model.boxes)
    for name, msgs in model.boxes.items():
        got = {u: f for u, _, f in acc.uids_flags(name)}
        assert got == {u: f for u, (_, f) in msgs.items()}, name
        assert acc.mailbox(name).uidnext == model.uidnext[name]
        for meta in acc.message_meta(name, list(msgs)):
            assert acc.read(meta) == msgs[meta.uid][0]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_operations(acc: Account, seed: int) -> None:
    rnd = random.Random(seed)
    model = Model()
    for m in acc.list_mailboxes():
        model.boxes[m.name] = {}
        model.uidnext[m.name] = m.uidnext
    counter = 0
    for _step in range(120):
        op = rnd.choice(
            ["deliver", "deliver", "flags", "copy", "move", "expunge", "create", "delete", "rename"]
        )
        boxes = sorted(model.boxes)
        mb = rnd.choice(boxes)
        uids = sorted(model.boxes[mb])
        pick = [*sorted(rnd.sample(uids, min(len(uids), rnd.randint(0, 3)))), rnd.randint(100, 200)]
        if op == "deliver":
            counter += 1
            data = make_msg(f"m{counter}", body=f"body {counter} " * rnd.randint(1, 50))
            fl = frozenset(rnd.sample(FLAGS, rnd.randint(0, 3)))
            d = acc.deliver(mb, data, fl)
            assert d.uid == model.add(mb, data, fl)
        elif op == "flags":
            mode = rnd.choice(["add", "remove", "replace"])
            fl = frozenset(rnd.sample(FLAGS, rnd.randint(0, 3)))
            acc.set_flags(mb, pick, mode, fl)
            for u in pick:
                if u in model.boxes[mb]:
                    data, old = model.boxes[mb][u]
                    new = old | fl if mode == "add" else old - fl if mode == "remove" else fl
                    model.boxes[mb][u] = (data, new)
        elif op in ("copy", "move"):
            dst = rnd.choice(boxes)
            if op == "move" and dst == mb:
                continue
            r = (acc.copy if op == "copy" else acc.move)(mb, pick, dst)
            present = [u for u in pick if u in model.boxes[mb]]
            assert list(r.src_uids) == present
            for su, du in zip(r.src_uids, r.dst_uids, strict=True):
                item = model.boxes[mb][su]
                assert model.add(dst, *item) == du
                if op == "move":
                    del model.boxes[mb][su]
        elif op == "expunge":
            given = pick if rnd.random() < 0.5 else None
            r = acc.expunge(mb, given)
            cands = model.boxes[mb] if given is None else [u for u in given if u in model.boxes[mb]]
            want = [u for u in cands if "\\Deleted" in model.boxes[mb][u][1]]
            assert sorted(r.uids) == sorted(want)
            for u in r.uids:
                del model.boxes[mb][u]
        elif op == "create":
            name = rnd.choice(["a", "b", "a/x", "b/y/z", "Inbox/sub"])
            try:
                acc.create_mailbox(name)
            except MailboxExists:
                assert name in model.boxes
                continue
            parts = name.split("/")
            for i in range(1, len(parts) + 1):
                p = "/".join(parts[:i])
                if p not in model.boxes:
                    model.boxes[p] = {}
                    model.uidnext[p] = 1
        elif op == "delete":
            if mb == "Inbox":
                continue
            try:
                acc.delete_mailbox(mb)
            except MailboxNotEmpty:
                assert any(b.startswith(mb + "/") for b in boxes)
                continue
            del model.boxes[mb]
            del model.uidnext[mb]
        elif op == "rename":
            if mb == "Inbox":
                continue
            new = rnd.choice(["r1", "r2", "r1/deep"])
            try:
                acc.rename_mailbox(mb, new)
            except (MailboxExists, MailboxNotFound):
                continue
            except Exception:
                assert new.startswith(mb + "/")
                continue
            moved = {b: v for b, v in model.boxes.items() if b == mb or b.startswith(mb + "/")}
            for b in moved:
                nb = new + b[len(mb) :]
                model.boxes[nb] = model.boxes.pop(b)
                model.uidnext[nb] = model.uidnext.pop(b)
            parts = new.split("/")
            for i in range(1, len(parts)):
                p = "/".join(parts[:i])
                if p not in model.boxes:
                    model.boxes[p] = {}
                    model.uidnext[p] = 1
        _check(acc, model)
