"""The instructors' collect refuses a submission its named student does not own (course_exchange).

Real nbgrader 0.9 commands on a real exchange folder, with two real OS accounts (``cnnhub-``
names, made idempotently: root only). A submission is made the way ``nbgrader submit`` leaves it,
then handed to the account (or uid) that would have written it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "deploy"))
import course_exchange  # noqa: E402
from course_accounts import ensure_account  # noqa: E402
from course_layout import nbgrader_config  # noqa: E402

pytestmark = [pytest.mark.slow,   # each collect starts nbgrader afresh (several seconds)
              pytest.mark.skipif(os.geteuid() != 0, reason="needs root: OS accounts and chown")]

COURSE, LAB = "popular-dnn-models", "lab0"
ANN, BOB = "cnnhub-ann", "cnnhub-bob"


@pytest.fixture
def course(tmp_path):
    """A course directory whose config is the hub's, and an exchange with its inbound folder."""
    accounts = {name: ensure_account(name, tmp_path / "homes" / name) for name in (ANN, BOB)}
    exchange, root = tmp_path / "exchange", tmp_path / "course"
    (exchange / COURSE / "inbound").mkdir(parents=True)
    os.chmod(exchange, 0o1777)
    root.mkdir()
    (root / "nbgrader_config.py").write_text(nbgrader_config(COURSE, exchange, "course"))
    return root, exchange / COURSE / "inbound", accounts


def _submission(inbound: Path, claimed: str, stamp: str, uid: int, gid: int, text: str) -> Path:
    """A submission folder as `nbgrader submit` writes it, owned by ``uid``."""
    folder = inbound / f"{claimed}+{LAB}+2026-12-01 10:00:{stamp}.000000 UTC+r{stamp}"
    folder.mkdir()
    (folder / f"{LAB}.ipynb").write_text(text)
    (folder / "timestamp.txt").write_text(f"2026-12-01 10:00:{stamp}.000000 UTC")
    for path in (folder, *folder.iterdir()):
        os.lchown(path, uid, gid)
    return folder


def _collect(root: Path, *extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
           "JUPYTER_CONFIG_PATH": ""}
    nbgrader = str(Path(sys.executable).with_name("nbgrader"))
    return subprocess.run([nbgrader, "collect", LAB, "--update", *extra], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300)


def test_collect_refuses_an_impostors_submission_and_keeps_the_students_own(course):
    root, inbound, accounts = course
    ann, bob = accounts[ANN], accounts[BOB]
    _submission(inbound, ANN, "01", ann.pw_uid, ann.pw_gid, "ann's own")
    _submission(inbound, BOB, "02", bob.pw_uid, bob.pw_gid, "bob's own")
    # later, Ann hands in work under Bob's name: newer than Bob's own, so nbgrader alone takes it
    forged = _submission(inbound, BOB, "03", ann.pw_uid, ann.pw_gid, "ann's, as bob")
    # and a submission holding a symbolic link (collect, as the instructor, would follow it)
    linked = _submission(inbound, ANN, "04", ann.pw_uid, ann.pw_gid, "ann's, with a link")
    (linked / "secret.txt").symlink_to("/etc/shadow")
    os.lchown(linked / "secret.txt", ann.pw_uid, ann.pw_gid)

    out = _collect(root)
    assert out.returncode == 0, out.stderr[-3000:]
    assert (root / "submitted" / BOB / LAB / f"{LAB}.ipynb").read_text() == "bob's own"
    assert (root / "submitted" / ANN / LAB / f"{LAB}.ipynb").read_text() == "ann's own"
    refused = [line for line in out.stderr.splitlines() if "Refused" in line]
    assert len(refused) == 2, out.stderr
    assert f"Refused {forged}: it names {BOB} (uid {bob.pw_uid}) but {ANN} (uid {ann.pw_uid}) owns" \
        in out.stderr
    assert "holds a symbolic link" in out.stderr
    assert not (root / "submitted" / ANN / LAB / "secret.txt").exists()
    assert "check_owner" not in out.stderr   # no warning about an outdated option either


def test_nbgraders_own_collect_would_have_taken_the_impostors_work(course):
    """Why the owner check must refuse, not warn: the proof that the test above can fail."""
    root, inbound, accounts = course
    ann, bob = accounts[ANN], accounts[BOB]
    _submission(inbound, BOB, "02", bob.pw_uid, bob.pw_gid, "bob's own")
    _submission(inbound, BOB, "03", ann.pw_uid, ann.pw_gid, "ann's, as bob")
    out = _collect(root, "--ExchangeFactory.collect=nbgrader.exchange.default.collect.ExchangeCollect")
    assert out.returncode == 0, out.stderr[-3000:]
    assert "cheating attempt" in out.stderr
    assert (root / "submitted" / BOB / LAB / f"{LAB}.ipynb").read_text() == "ann's, as bob"


def test_on_kubernetes_the_owner_is_the_uid_derived_from_the_name(course, tmp_path):
    root, inbound, _ = course
    config = root / "nbgrader_config.py"
    config.write_text(config.read_text() + 'c.OwnerCheckedCollect.uids = "name-hash"\n')
    own, other = course_exchange.student_uid("ks-ann"), course_exchange.student_uid("ks-bob")
    assert own != other and min(own, other) >= course_exchange.UID_BASE
    _submission(inbound, "ks-ann", "01", own, 100, "ann's own")
    _submission(inbound, "ks-bob", "02", own, 100, "ann's, as bob")
    out = _collect(root)
    assert out.returncode == 0, out.stderr[-3000:]
    assert (root / "submitted" / "ks-ann" / LAB / f"{LAB}.ipynb").exists()
    assert not (root / "submitted" / "ks-bob").exists()
    assert f"it names ks-bob (uid {other}) but an unknown account (uid {own}) owns" in out.stderr


def test_a_student_uid_is_stable_and_spread():
    uids = {course_exchange.student_uid(f"student{i}") for i in range(2000)}
    assert len(uids) == 2000
    assert course_exchange.student_uid("student1") == course_exchange.student_uid("student1")
    low, span = course_exchange.UID_BASE, course_exchange.UID_SPAN
    assert all(low <= u < low + span for u in uids)
