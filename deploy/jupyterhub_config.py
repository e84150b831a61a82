"""JupyterHub configuration for the course on one machine: students do the labs, instructors grade.

Everything that differs between a trial and a department server is an environment variable
(defaults in brackets), so that ``deploy/local_hub.py`` and the end-to-end test use this very file:

=====================  =========================================================================
COURSE_STATE           folder for the hub's database, homes, exchange and course [.hub]
COURSE_ID              nbgrader course id [popular-dnn-models]
COURSE_STUDENTS        comma-separated student user names [student1,student2]
COURSE_INSTRUCTORS     comma-separated instructor user names; the first owns the course [instructor]
HUB_IP, HUB_PORT       where the proxy listens [127.0.0.1, 8000]
HUB_API_PORT           the hub's own port, behind the proxy [8081]
HUB_PROXY_API_PORT     the proxy's REST API port [8001]
HUB_SERVICE_TOKEN      if set, a service "course-admin" with this token may drive the hub's API
                       (the end-to-end test uses it to start servers and make user tokens)
HUB_ALLOW_TOKEN_IN_URL set to 1 to let ``?token=`` open a page (the browser check needs it)
=====================  =========================================================================

Who is who: every hub user is an unprivileged OS account of the same name (made at start if
missing, ``course_accounts``); logging in checks that account's password through PAM. Each
server runs as its account inside a bubblewrap sandbox (``course_spawner``) that holds only what
its role may see. Students get JupyterLab with nbgrader's *Assignment List* and *Validate*; the
formgrader and the other instructor tools are off for them, and their nbgrader student id is
their account's name. Instructors also get the formgrader, the repository (read-only) and the
course directory ``COURSE_STATE/course`` (its ``source/`` is the repository's ``labs/source``).
Both talk to one exchange folder, ``COURSE_STATE/exchange``; the instructors' collect refuses
a submission that its named student does not own (``course_exchange``). deploy/README.md says
what this protects and what not.

The hub must run as root: it makes the accounts, reads their passwords through PAM and starts
each sandbox.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

c = get_config()  # type: ignore[name-defined]  # noqa: F821  (JupyterHub provides it)

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
STATE = Path(os.environ.get("COURSE_STATE", REPO / ".hub")).resolve()
COURSE_ID = os.environ.get("COURSE_ID", "popular-dnn-models")
STUDENTS = [u for u in os.environ.get("COURSE_STUDENTS", "student1,student2").split(",") if u]
INSTRUCTORS = [u for u in os.environ.get("COURSE_INSTRUCTORS", "instructor").split(",") if u]
VENV_BIN = Path(sys.executable).parent

sys.path.insert(0, str(HERE))
from course_accounts import ensure_account  # noqa: E402  (deploy/, beside this file)
from course_layout import prepare_state  # noqa: E402

if os.geteuid() != 0:
    sys.exit("the course hub runs every user as their own OS account: start it as root")
accounts = {name: ensure_account(name, STATE / "homes" / name) for name in [*INSTRUCTORS, *STUDENTS]}
owner = accounts[INSTRUCTORS[0]]
paths = prepare_state(STATE, course_id=COURSE_ID, repo=REPO, venv_bin=VENV_BIN, students=STUDENTS,
                      instructor=(owner.pw_uid, owner.pw_gid))

# -- network: loopback unless told otherwise ---------------------------------------------------
c.JupyterHub.ip = os.environ.get("HUB_IP", "127.0.0.1")
c.JupyterHub.port = int(os.environ.get("HUB_PORT", "8000"))
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(os.environ.get("HUB_API_PORT", "8081"))
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{os.environ.get('HUB_PROXY_API_PORT', '8001')}"
proxy = HERE / "proxy" / "node_modules" / ".bin" / "configurable-http-proxy"
if proxy.exists():
    c.ConfigurableHTTPProxy.command = [str(proxy)]
# the hub's secrets and database: root's alone (STATE/private is 0700 and never in a sandbox)
c.JupyterHub.db_url = f"sqlite:///{paths.private / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(paths.private / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(paths.private / "jupyterhub.pid")
# Single-user servers outlive a hub restart; the hub finds them again from its database.
c.JupyterHub.cleanup_servers = False

# -- users and groups --------------------------------------------------------------------------
# PAM: each user logs in with their OS account's password (local_hub.py sets them). An
# institution's login replaces this one line, e.g. "generic-oauth" (package oauthenticator);
# the accounts are still made here, named as the hub users.
c.JupyterHub.authenticator_class = "pam"
c.Authenticator.allowed_users = set(STUDENTS) | set(INSTRUCTORS)
c.Authenticator.admin_users = set(INSTRUCTORS)
c.JupyterHub.load_groups = {
    "students": {"users": STUDENTS},
    "instructors": {"users": INSTRUCTORS},
}
token = os.environ.get("HUB_SERVICE_TOKEN")
if token:
    c.JupyterHub.services = [{"name": "course-admin", "api_token": token}]
    c.JupyterHub.load_roles = [{
        "name": "course-admin",
        "scopes": ["admin:users", "admin:servers", "tokens", "access:servers", "list:users",
                   "read:users"],
        "services": ["course-admin"],
    }]

# -- the single-user servers: each as its user, in its own sandbox -----------------------------
c.JupyterHub.spawner_class = "course_spawner.SandboxedSpawner"
c.SandboxedSpawner.homes = str(paths.homes)
c.SandboxedSpawner.exchange = str(paths.exchange)
c.SandboxedSpawner.course = str(paths.course)
c.SandboxedSpawner.repository = str(REPO)
c.SandboxedSpawner.state = str(STATE)
c.SandboxedSpawner.role_config = str(paths.config)
c.SandboxedSpawner.server_cmd = [str(VENV_BIN / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.http_timeout = 60
c.Spawner.start_timeout = 90
if os.environ.get("HUB_ALLOW_TOKEN_IN_URL") == "1":
    c.Spawner.environment = {"JUPYTERHUB_ALLOW_TOKEN_IN_URL": "1"}
