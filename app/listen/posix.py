"""The one module with POSIX-only calls (setuid, setgid, setgroups, chown, the pwd database).

Everything on the ``localserve`` path avoids it, so that path runs on Windows too.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from app import mlog

log = mlog.get("listen")


class PrivilegeError(Exception):
    """Dropping privileges failed or turned out reversible; the server must not serve."""


def is_root() -> bool:
    return sys.platform != "win32" and os.geteuid() == 0


def lookup_user(user: str) -> tuple[int, int]:
    """uid and gid of a user name, or of a number used as both (mox's ``User``)."""
    import pwd

    try:
        pw = pwd.getpwnam(user)
        return pw.pw_uid, pw.pw_gid
    except KeyError:
        pass
    try:
        n = int(user)
    except ValueError:
        raise PrivilegeError(f"unknown user {user!r} (neither a user name nor a number)") from None
    return n, n


def drop_privileges(uid: int, gid: int) -> None:
    """Irreversibly become uid/gid: setgroups, setgid, setuid, then prove root cannot be regained."""
    if uid == 0:
        raise PrivilegeError("refusing to keep serving as root: configure User in mox.conf")
    os.setgroups([gid])
    os.setgid(gid)
    os.setuid(uid)
    try:
        os.setuid(0)
    except PermissionError:
        pass
    else:
        raise PrivilegeError("setuid(0) succeeded after dropping privileges")
    if os.geteuid() != uid or os.getegid() != gid:
        raise PrivilegeError("effective uid/gid differ after dropping privileges")
    log.info("dropped privileges", uid=uid, gid=gid)


def fix_ownership(paths: list[Path], uid: int, gid: int) -> None:
    """Give the data and config directories to the serving user (mox does this unless NoFixPermissions).

    Config files become readable, not writable, by other users only where mox's layout needs it;
    data files are owned by the user and not accessible to others.
    """
    for top in paths:
        if not top.exists():
            continue
        for root, dirs, files in os.walk(top):
            for name in [*dirs, *files]:
                p = os.path.join(root, name)
                try:
                    if os.lstat(p).st_uid != uid:
                        os.lchown(p, uid, gid)
                except OSError as e:
                    log.error("fixing ownership", path=p, err=e)
        try:
            os.chown(top, uid, gid)
        except OSError as e:
            log.error("fixing ownership", path=str(top), err=e)
