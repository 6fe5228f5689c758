"""NOTIFY (RFC 5465): the client says which events it wants for which mailboxes, and the
server reports them as they happen, also between commands: STATUS for messages arriving,
leaving or changing flags in mailboxes other than the selected one, LIST for mailbox name and
subscription changes. The selected mailbox keeps its usual EXISTS/EXPUNGE/FETCH updates.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app import store
from app.imap import Parser, writer
from app.imapserver.errors import Bad, No
from app.imapserver.names import from_client, to_client
from app.imapserver.session import Session
from app.runtime import run_blocking

EVENTS = {
    "MESSAGENEW", "MESSAGEEXPUNGE", "FLAGCHANGE", "ANNOTATIONCHANGE", "MAILBOXNAME", "SUBSCRIPTIONCHANGE",
    "MAILBOXMETADATACHANGE", "SERVERMETADATACHANGE",
}  # fmt: skip
FILTERS = {"SELECTED", "SELECTED-DELAYED", "PERSONAL", "INBOXES", "SUBSCRIBED", "SUBTREE", "MAILBOXES"}


@dataclass
class Spec:
    kind: str
    names: list[str]
    events: set[str]


@dataclass
class Notify:
    specs: list[Spec] = field(default_factory=list)

    def events_for(self, name: str, subscribed: set[str], selected: bool) -> set[str]:
        out: set[str] = set()
        for sp in self.specs:
            if sp.kind in ("SELECTED", "SELECTED-DELAYED"):
                hit = selected
            elif sp.kind == "PERSONAL":
                hit = True
            elif sp.kind == "INBOXES":
                hit = name == "Inbox"
            elif sp.kind == "SUBSCRIBED":
                hit = name in subscribed
            elif sp.kind == "SUBTREE":
                hit = any(name == n or name.startswith(n + "/") for n in sp.names)
            else:
                hit = name in sp.names
            if hit:
                out |= sp.events
        return out

    def any_event(self, event: str) -> bool:
        return any(event in sp.events for sp in self.specs)


def _names(s: Session, p: Parser) -> list[str]:
    if p.take(b"("):
        out = [from_client(s, p.astring())]
        while not p.take(b")"):
            p.sp()
            out.append(from_client(s, p.astring()))
        return out
    return [from_client(s, p.astring())]


async def cmd_notify(s: Session, p: Parser, tag: str) -> str:
    p.sp()
    if p.take(b"NONE"):
        p.end()
        s.notify = None
        return "NOTIFY completed"
    p.expect(b"SET")
    p.sp()
    status = p.take(b"STATUS ")
    specs: list[Spec] = []
    while True:
        p.expect(b"(")
        kind = p.atom_upper()
        if kind not in FILTERS:
            raise Bad(f"unknown notify filter {kind}")
        names: list[str] = []
        if kind in ("SUBTREE", "MAILBOXES"):
            p.sp()
            names = _names(s, p)
        p.sp()
        events: set[str] = set()
        if not p.take(b"NONE"):
            p.expect(b"(")
            while not p.take(b")"):
                ev = p.atom_upper()
                if ev not in EVENTS:
                    raise No(
                        f"unsupported event {ev}",
                        "BADEVENT (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange)",
                    )
                events.add(ev)
                p.take_sp()
        p.expect(b")")
        specs.append(Spec(kind, names, events))
        if not p.take_sp():
            break
    p.end()
    s.notify = Notify(specs)
    if status:
        await _initial_status(s)
    return "NOTIFY completed"


def status_items(events: set[str]) -> list[str]:
    items: list[str] = []
    if "MESSAGENEW" in events:
        items += ["MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN"]
    if "MESSAGEEXPUNGE" in events:
        items += [i for i in ("MESSAGES", "UNSEEN") if i not in items]
    if "FLAGCHANGE" in events:
        items += [i for i in ("UIDVALIDITY", "UNSEEN", "HIGHESTMODSEQ") if i not in items]
    return items


async def send_status(s: Session, mailbox: int | str, events: set[str]) -> None:
    items = status_items(events)
    if not items:
        return
    try:
        st: store.MailboxStatus = await run_blocking(s.account.mailbox_status, mailbox)
    except store.StoreError:
        return
    values = {
        "MESSAGES": st.counts.total, "UIDNEXT": st.uidnext, "UIDVALIDITY": st.uidvalidity,
        "UNSEEN": st.counts.unseen, "HIGHESTMODSEQ": st.highest_modseq,
    }  # fmt: skip
    body = writer.plist(f"{i} {values[i]}".encode() for i in items)
    s.untagged(b"STATUS " + to_client(s, st.name) + b" " + body)


async def _initial_status(s: Session) -> None:
    n = s.notify
    assert n is not None
    mailboxes: list[store.Mailbox] = await run_blocking(s.account.list_mailboxes)
    subscribed = set(await run_blocking(s.account.subscriptions))
    sel = s.selected.mailbox_id if s.selected is not None else None
    for mb in mailboxes:
        if mb.id == sel:
            continue
        events = n.events_for(mb.name, subscribed, False)
        if events:
            await send_status(s, mb.id, events)
