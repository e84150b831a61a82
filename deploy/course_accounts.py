"""The OS accounts of the one-machine hub: one unprivileged account per hub user.

A student's server, terminals and kernels run as that student's account, so the kernel's file
permissions and nbgrader's owner checks (``course_exchange``) tell students apart. The accounts
are made with ``useradd`` when missing and marked in their comment field (``MARK``); an existing
account without the mark is never touched (it belongs to someone else: the hub stops with an
error naming it). Making them again is harmless, so the hub does it at every start.
"""

from __future__ import annotations

import os
import pwd
import re
import subprocess
from pathlib import Path

MARK = "popular-dnn-models course hub"
_NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")


class AccountError(RuntimeError):
    """An account cannot be made or used; the message says which and why."""


def valid_name(name: str) -> bool:
    """A name that is both a JupyterHub user name and a portable Unix account name."""
    return bool(_NAME.match(name))


def ensure_account(name: str, home: Path) -> pwd.struct_passwd:
    """The account ``name`` (made if missing), and its home folder ``home`` (mode 0700, its own)."""
    if not valid_name(name):
        raise AccountError(f"{name!r} cannot be an OS account name (lower-case letters, digits, - and _)")
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        if os.geteuid() != 0:
            raise AccountError(f"the OS account {name!r} is missing and only root can make it") from None
        # no home in /etc/passwd's sense is made here: the sandbox shows `home` as /home/NAME
        result = subprocess.run(["useradd", "--comment", MARK, "--home-dir", f"/home/{name}",
                                 "--no-create-home", "--shell", "/bin/bash", "--user-group", name],
                                capture_output=True, text=True)
        if result.returncode != 0 and not _exists(name):
            raise AccountError(f"useradd {name} failed: {result.stderr.strip()}") from None
        entry = pwd.getpwnam(name)
    if entry.pw_uid == 0:
        raise AccountError(f"the OS account {name!r} is root's: a hub user must be unprivileged")
    if not entry.pw_gecos.startswith(MARK):
        raise AccountError(f"an OS account named {name!r} exists and was not made for the course hub; "
                           "choose other user names (--students, --instructors)")
    home.mkdir(parents=True, exist_ok=True)
    os.chown(home, entry.pw_uid, entry.pw_gid)
    os.chmod(home, 0o700)
    return entry


def set_password(name: str, password: str) -> None:
    """Set the account's password (what the hub's PAM login checks)."""
    if ":" in password or "\n" in password:
        raise AccountError("a password cannot contain ':' or a line break")
    result = subprocess.run(["chpasswd"], input=f"{name}:{password}\n", capture_output=True, text=True)
    if result.returncode != 0:
        raise AccountError(f"chpasswd {name} failed: {result.stderr.strip()}")


def _exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False
