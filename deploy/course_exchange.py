"""nbgrader's exchange collect, refusing submissions that were not made by the student they name.

A submission in the exchange's ``inbound/`` folder is a directory named
``STUDENT+LAB+TIMESTAMP+RANDOM``, written by the student's own server. The name is the student's
claim; the owner of the files (their uid) is the proof, because every student runs as a uid of
their own (one OS account each on the local hub, one uid per student's pod on Kubernetes).
nbgrader 0.9's own collect compares the two (``ExchangeCollect.check_owner``) but only logs a
warning and collects the impostor's work all the same, as the named student's latest submission.

``OwnerCheckedCollect`` refuses instead: a submission whose directory or any file in it is owned
by another uid than the named student's, or that holds a symbolic link (the collect runs as the
instructor and would copy what the link points to), is left in the exchange, never reaches
``submitted/``, and is logged as an error that says why::

    [CollectApp | ERROR] Refused .../inbound/student2+lab1_counting+...: it names student2 (uid 1002)
    but student1 (uid 1001) owns .../lab1_counting.ipynb

The named student's latest *genuine* submission is collected as usual. Select it in an
instructor's ``nbgrader_config.py``::

    c.ExchangeFactory.collect = "course_exchange.OwnerCheckedCollect"
    c.OwnerCheckedCollect.uids = "passwd"     # or "name-hash" on Kubernetes (see student_uid)
"""

from __future__ import annotations

import hashlib
import os
import pwd

from nbgrader.exchange.default.collect import ExchangeCollect
from traitlets import Enum

#: Kubernetes: students' uids are derived from their names in [UID_BASE, UID_BASE + UID_SPAN).
UID_BASE = 1 << 20
UID_SPAN = 1 << 30


def student_uid(name: str) -> int:
    """The uid a student's pod runs as on Kubernetes, a function of the hub user name alone.

    The hub's spawner and the instructor's collect must agree on it without sharing a database:
    both compute it from the name. The span (2**30) makes a clash between two names of one class
    improbable (about 1 in 2,000 for 1,000 students); the hub refuses to start when its roster
    has one (deploy/kubernetes/values.yaml).
    """
    digest = hashlib.sha256(name.encode()).digest()
    return UID_BASE + int.from_bytes(digest[:8], "big") % UID_SPAN


def passwd_uid(name: str) -> int | None:
    """The uid of the OS account named ``name`` (the local hub: one account per hub user)."""
    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        return None


def _owner_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return "an unknown account"


class OwnerCheckedCollect(ExchangeCollect):
    uids = Enum(["passwd", "name-hash"], default_value="passwd",
                help="How a student id maps to the uid that must own its submissions: 'passwd' (the "
                     "OS account of that name) or 'name-hash' (course_exchange.student_uid, the uid the "
                     "Kubernetes spawner gives each student's pod).").tag(config=True)

    def expected_uid(self, student_id: str) -> int | None:
        return passwd_uid(student_id) if self.uids == "passwd" else student_uid(student_id)

    def refusal(self, path: str, student_id: str) -> str | None:
        """Why the submission at ``path`` is not ``student_id``'s own, or None when it is."""
        expected = self.expected_uid(student_id)
        if expected is None:
            return f"it names {student_id}, who has no account here"
        for entry in [path, *(os.path.join(d, n) for d, dirs, files in os.walk(path) for n in dirs + files)]:
            st = os.lstat(entry)
            if os.path.islink(entry):
                return f"it holds a symbolic link, {entry} -> {os.readlink(entry)}"
            if st.st_uid != expected:
                return (f"it names {student_id} (uid {expected}) but {_owner_name(st.st_uid)} "
                        f"(uid {st.st_uid}) owns {entry}")
        return None

    def init_src(self):
        super().init_src()
        if not self.check_owner:
            return
        # super() kept each student's latest submission; choose again among the genuine ones
        genuine: dict[str, list[dict]] = {}
        pattern_student = self.coursedir.student_id or None
        for name in sorted(os.listdir(self.inbound_path)):
            parts = name.rsplit("+", 3)
            if len(parts) < 3 or parts[1] != self.coursedir.assignment_id:
                continue
            if pattern_student not in (None, "*") and parts[0] != pattern_student:
                continue
            record = self._path_to_record(os.path.join(self.inbound_path, name))
            why = self.refusal(os.path.join(self.inbound_path, name), record["username"])
            if why:
                self.log.error("Refused %s: %s", os.path.join(self.inbound_path, name), why)
                continue
            genuine.setdefault(record["username"], []).append(record)
        chosen = []
        for records in genuine.values():
            records = self._sort_by_timestamp(records)
            if self.before_duedate and self.duedate is not None:
                on_time = [r for r in records if r["timestamp"] <= self.duedate]
                records = on_time or records
            chosen.append(records[0])
        self.src_records = chosen

    def copy_files(self):
        # the owner check is done (and enforced) in init_src; nbgrader's would only warn again
        check, self.check_owner = self.check_owner, False
        try:
            super().copy_files()
        finally:
            self.check_owner = check
