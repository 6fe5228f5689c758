"""Child process of the crash test: delivers messages from several threads and prints one line
per acknowledged delivery (``mailbox uid key``) until it is killed.

Run as ``python -m tests.store.crash_child DATADIR SEED``.
"""

from __future__ import annotations

import hashlib
import random
import sys
import threading

from app.store import Store

MAILBOXES = ("Inbox", "Archive", "Lists/dev")


def message_for(key: str) -> bytes:
    """The exact bytes delivered for ``key``; sizes vary from small to several chunks."""
    rnd = random.Random(key)
    size = rnd.choice([200, 5000, 70_000, 300_000])
    digest = hashlib.sha256(key.encode()).hexdigest()
    line = (digest + "\r\n").encode()
    body = line * (size // len(line) + 1)
    hdr = f"From: crash@example.org\r\nSubject: crash {key}\r\nX-Key: {key}\r\nMessage-ID: <{key}@crash>\r\n\r\n"
    return hdr.encode() + body


def main() -> None:
    data_dir, seed = sys.argv[1], sys.argv[2]
    st = Store(data_dir)
    acc = st.account("crash", create=True)
    out_lock = threading.Lock()

    def work(t: int) -> None:
        rnd = random.Random(f"{seed}-{t}")
        i = 0
        while True:
            key = f"{seed}-{t}-{i}"
            mb = rnd.choice(MAILBOXES)
            d = acc.deliver(mb, message_for(key), ["\\Seen"] if i % 3 == 0 else [])
            with out_lock:
                sys.stdout.write(f"{d.mailbox_name} {d.uid} {key}\n")
                sys.stdout.flush()
            i += 1

    threads = [threading.Thread(target=work, args=(t,), daemon=True) for t in range(4)]
    for th in threads:
        th.start()
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    for th in threads:
        th.join()


if __name__ == "__main__":
    main()
