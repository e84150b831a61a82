"""JupyterHub configuration for the course: students do the labs, instructors grade them.

Everything that differs between a trial on one machine and a department server is an environment
variable (defaults in brackets), so that ``deploy/local_hub.py`` and the end-to-end test use this
very file:

=====================  =========================================================================
COURSE_STATE           folder for the hub's database, home folders, exchange, course [.hub]
COURSE_ID              nbgrader course id [popular-dnn-models]
COURSE_STUDENTS        comma-separated student user names [student1,student2]
COURSE_INSTRUCTORS     comma-separated instructor user names [instructor]
COURSE_PASSWORD        shared password of the trial authenticator (unset: any password)
HUB_IP, HUB_PORT       where the proxy listens [127.0.0.1, 8000]
HUB_API_PORT           the hub's own port, behind the proxy [8081]
HUB_PROXY_API_PORT     the proxy's REST API port [8001]
HUB_SERVICE_TOKEN      if set, a service "course-admin" with this token may drive the hub's API
                       (the end-to-end test uses it to start servers and make user tokens)
HUB_ALLOW_TOKEN_IN_URL set to 1 to let ``?token=`` open a page (the browser check needs it)
=====================  =========================================================================

Who sees what (nbgrader 0.9):

* **students** get JupyterLab with nbgrader's *Assignment List* (fetch, submit, fetch feedback)
  and *Validate*; the formgrader, course list and create-assignment tools are switched off for
  them. Their nbgrader student id is their hub user name.
* **instructors** get the formgrader as well and a course directory (``COURSE_STATE/course``)
  whose ``source/`` is the repository's ``labs/source``; ``python -m autograder`` grades there.
* Both talk to one **exchange** folder (``COURSE_STATE/exchange``), world-writable with the
  sticky bit, as nbgrader's documentation asks.

The spawner runs every single-user server as the hub's own OS user, in a home folder of its own
under ``COURSE_STATE/homes``. That is right for trying the course on one machine, not for a class
that must not read each other's files: on a shared server use real OS users (``LocalProcessSpawner``)
or the Kubernetes deployment in ``deploy/kubernetes/`` (one pod per student). See deploy/README.md.
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

sys.path.insert(0, str(HERE))
from course_layout import prepare_state  # noqa: E402  (deploy/course_layout.py, beside this file)

paths = prepare_state(STATE, course_id=COURSE_ID, repo=REPO)

# -- network: loopback unless told otherwise ---------------------------------------------------
c.JupyterHub.ip = os.environ.get("HUB_IP", "127.0.0.1")
c.JupyterHub.port = int(os.environ.get("HUB_PORT", "8000"))
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(os.environ.get("HUB_API_PORT", "8081"))
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{os.environ.get('HUB_PROXY_API_PORT', '8001')}"
proxy = HERE / "proxy" / "node_modules" / ".bin" / "configurable-http-proxy"
if proxy.exists():
    c.ConfigurableHTTPProxy.command = [str(proxy)]
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(STATE / "jupyterhub.pid")
# Single-user servers outlive a hub restart; the hub finds them again from its database.
c.JupyterHub.cleanup_servers = False

# -- users and groups --------------------------------------------------------------------------
c.JupyterHub.authenticator_class = "dummy"   # the trial's; a real course uses its own login
if os.environ.get("COURSE_PASSWORD"):
    c.DummyAuthenticator.password = os.environ["COURSE_PASSWORD"]
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

# -- the single-user servers -------------------------------------------------------------------
c.JupyterHub.spawner_class = "simple"   # jupyterhub.spawner.SimpleLocalProcessSpawner
c.SimpleLocalProcessSpawner.home_dir_template = str(paths.homes / "{username}")
c.Spawner.default_url = "/lab"
c.Spawner.cmd = [str(Path(sys.executable).with_name("jupyterhub-singleuser"))]
c.Spawner.http_timeout = 60
c.Spawner.start_timeout = 90
if os.geteuid() == 0:
    c.Spawner.args = ["--allow-root"]


def _role_environment(spawner) -> None:
    """Point each server at its role's Jupyter config (nbgrader settings, extensions on/off)."""
    name = spawner.user.name
    role = "instructors" if name in INSTRUCTORS else "students"
    home = paths.homes / name
    home.mkdir(parents=True, exist_ok=True)
    spawner.environment.update({
        "JUPYTER_CONFIG_PATH": str(paths.config / role),
        # cnnlib comes from the hub's environment; its labs import it
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "COURSE_ROLE": role,
        "COURSE_DIR": str(paths.course),
    })
    if os.environ.get("HUB_ALLOW_TOKEN_IN_URL") == "1":
        spawner.environment["JUPYTERHUB_ALLOW_TOKEN_IN_URL"] = "1"


c.Spawner.pre_spawn_hook = _role_environment
