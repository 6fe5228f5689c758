"""THREAD=REFERENCES (RFC 5256 section 4): build the reference tree from Message-ID,
References and In-Reply-To, prune empty containers, merge threads by base subject, order
siblings by sent date; and the THREAD response syntax for any tree."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(eq=False)
class Node:
    item: Any = None  # cmd_sort.Item, None for a dummy container
    children: list[Node] = field(default_factory=list)
    parent: Node | None = None

    def date(self) -> tuple[float, int]:
        if self.item is not None:
            return (self.item.sent, self.item.seq)
        return self.children[0].date() if self.children else (0.0, 0)

    def subject(self) -> str:
        if self.item is not None:
            return str(self.item.subject)
        return self.children[0].subject() if self.children else ""

    def is_reply(self) -> bool:
        return bool(self.item is not None and self.item.reply)


def _ancestor(a: Node, b: Node) -> bool:
    """Whether a is b or an ancestor of b."""
    n: Node | None = b
    while n is not None:
        if n is a:
            return True
        n = n.parent
    return False


def _link(parent: Node, child: Node) -> None:
    if child.parent is not None:
        child.parent.children.remove(child)
    child.parent = parent
    parent.children.append(child)


def _unlink(child: Node) -> None:
    if child.parent is not None:
        child.parent.children.remove(child)
        child.parent = None


def references(items: list[Any]) -> list[Node]:
    table: dict[str, Node] = {}
    nodes: list[Node] = []
    for n, it in enumerate(items):
        mid = it.message_id
        node = table.get(mid) if mid else None
        if node is None or node.item is not None:
            if not mid or node is not None:
                mid = f"<dup-{n}>"  # missing or duplicate Message-ID: unique
            node = Node()
            table[mid] = node
        node.item = it
        nodes.append(node)
        prev: Node | None = None
        for ref in it.refs:
            rnode = table.get(ref)
            if rnode is None:
                rnode = table[ref] = Node()
            if prev is not None and rnode.parent is None and not _ancestor(rnode, prev):
                _link(prev, rnode)
            prev = rnode
        # The message's own parent is its last reference; an earlier link is replaced, and a
        # link that would make a loop is not made.
        _unlink(node)
        if prev is not None and prev is not node and not _ancestor(node, prev):
            _link(prev, node)
    roots = [n for n in table.values() if n.parent is None]
    roots = _prune(roots, top=True)
    _sort(roots)
    roots = _merge_subjects(roots)
    _sort(roots)
    return roots


def _prune(nodes: list[Node], top: bool) -> list[Node]:
    out: list[Node] = []
    for n in nodes:
        n.children = _prune(n.children, top=False)
        for c in n.children:
            c.parent = n
        if n.item is None:
            if not n.children:
                continue
            if not top or len(n.children) == 1:
                # A dummy is replaced by its children (at the top only when it has one).
                for c in n.children:
                    c.parent = n.parent
                out.extend(n.children)
                continue
        out.append(n)
    return out


def _sort(nodes: list[Node]) -> None:
    for n in nodes:
        _sort(n.children)
    nodes.sort(key=lambda n: n.date())


def _merge_subjects(roots: list[Node]) -> list[Node]:
    table: dict[str, Node] = {}
    for r in roots:
        subj = r.subject()
        if not subj:
            continue
        old = table.get(subj)
        if old is None or (r.item is None and old.item is not None) or (old.is_reply() and not r.is_reply()):
            table[subj] = r
    out: list[Node] = []
    for r in roots:
        subj = r.subject()
        other = table.get(subj) if subj else None
        if other is None or other is r:
            out.append(r)
            continue
        if other.item is None and r.item is None:
            for c in list(r.children):
                _link(other, c)
        elif other.item is None:
            _link(other, r)
        elif r.item is None:
            _link(r, other)
            table[subj] = r
            out = [r if x is other else x for x in out]
        elif not other.is_reply() and r.is_reply():
            _link(other, r)
        else:
            dummy = Node()
            idx = out.index(other) if other in out else -1
            _link(dummy, other)
            _link(dummy, r)
            table[subj] = dummy
            if idx >= 0:
                out[idx] = dummy
            else:
                out.append(dummy)
    return out


def _inner(n: Node, uid: bool) -> str:
    parts = [str(n.item.uid if uid else n.item.seq)] if n.item is not None else []
    if len(n.children) == 1:
        parts.append(_inner(n.children[0], uid))
    elif n.children:
        parts.append("".join("(" + _inner(c, uid) + ")" for c in n.children))
    return " ".join(parts)


def render(n: Node, uid: bool) -> str:
    return "(" + _inner(n, uid) + ")"
