"""The course's deployment files: the hub configuration loads, and the Helm values lint clean.

The Kubernetes values cannot be deployed here (no cluster); they are checked for what can be
checked offline: valid YAML, and every key one that the Zero to JupyterHub chart's schema (4.x)
knows. ``KNOWN`` transcribes the parts of that schema the values use; ``None`` marks a free-form
mapping (Kubernetes objects, traitlets config, environment variables).
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import yaml
from traitlets.config.loader import PyFileConfigLoader

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"

_FREE = None
KNOWN: dict = {
    "hub": {"config": _FREE, "extraConfig": _FREE, "loadRoles": _FREE, "extraEnv": _FREE,
            "db": {"type": _FREE, "pvc": _FREE, "url": _FREE, "password": _FREE},
            "cookieSecret": _FREE, "image": {"name": _FREE, "tag": _FREE}, "services": _FREE,
            "networkPolicy": _FREE, "resources": _FREE},
    "proxy": {"service": _FREE, "https": _FREE, "chp": _FREE, "secretToken": _FREE},
    "singleuser": {
        "image": {"name": _FREE, "tag": _FREE, "pullPolicy": _FREE, "pullSecrets": _FREE},
        "defaultUrl": _FREE, "cmd": _FREE, "uid": _FREE, "fsGid": _FREE,
        "cpu": {"limit": _FREE, "guarantee": _FREE},
        "memory": {"limit": _FREE, "guarantee": _FREE},
        "storage": {"type": _FREE, "capacity": _FREE, "homeMountPath": _FREE, "extraVolumes": _FREE,
                    "extraVolumeMounts": _FREE, "dynamic": _FREE, "static": _FREE, "extraLabels": _FREE},
        "extraEnv": _FREE, "extraFiles": _FREE, "profileList": _FREE, "lifecycleHooks": _FREE,
        "networkPolicy": {"enabled": _FREE, "egress": _FREE, "egressAllowRules": _FREE,
                          "ingress": _FREE, "interNamespaceAccessLabels": _FREE,
                          "allowedIngressPorts": _FREE},
    },
    "cull": {"enabled": _FREE, "timeout": _FREE, "every": _FREE, "users": _FREE, "maxAge": _FREE,
             "concurrency": _FREE, "removeNamedServers": _FREE, "adminUsers": _FREE},
    "scheduling": {"userScheduler": {"enabled": _FREE, "replicas": _FREE},
                   "podPriority": _FREE, "userPlaceholder": _FREE, "corePods": _FREE, "userPods": _FREE},
    "prePuller": _FREE, "ingress": _FREE, "debug": _FREE, "global": _FREE,
}


def _unknown_keys(values: dict, known: dict, path: str = "") -> list[str]:
    bad = []
    for key, value in values.items():
        where = f"{path}.{key}" if path else key
        if key not in known:
            bad.append(where)
        elif known[key] is not _FREE and isinstance(value, dict):
            bad += _unknown_keys(value, known[key], where)
    return bad


def test_helm_values_use_only_keys_the_chart_knows():
    values = yaml.safe_load((DEPLOY / "kubernetes" / "values.yaml").read_text())
    assert not _unknown_keys(values, KNOWN)


def test_the_key_check_catches_a_misspelt_key():
    assert _unknown_keys({"singleuser": {"memory": {"limt": "4G"}}}, KNOWN) == ["singleuser.memory.limt"]


def test_helm_values_limit_each_student_and_share_the_exchange():
    user = yaml.safe_load((DEPLOY / "kubernetes" / "values.yaml").read_text())["singleuser"]
    assert user["cpu"]["limit"] and user["memory"]["limit"]
    mounts = {m["mountPath"] for m in user["storage"]["extraVolumeMounts"]}
    assert "/srv/nbgrader/exchange" in mounts
    students = user["extraFiles"]["students-nbgrader-config"]["stringData"]
    assert 'Exchange.root = "/srv/nbgrader/exchange"' in students
    hooks = yaml.safe_load((DEPLOY / "kubernetes" / "values.yaml").read_text())["hub"]["extraConfig"]
    compile("\n".join(hooks.values()), "extraConfig", "exec")   # the Python in the values parses


@pytest.fixture
def hub_config(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_STATE", str(tmp_path))
    monkeypatch.setenv("COURSE_STUDENTS", "ann,bob")
    monkeypatch.setenv("COURSE_INSTRUCTORS", "prof")
    return PyFileConfigLoader("jupyterhub_config.py", path=str(DEPLOY)).load_config(), tmp_path


def test_hub_listens_on_loopback_with_students_and_instructors(hub_config):
    c, _ = hub_config
    assert c.JupyterHub.ip == "127.0.0.1" and c.JupyterHub.hub_ip == "127.0.0.1"
    assert c.JupyterHub.load_groups == {"students": {"users": ["ann", "bob"]},
                                        "instructors": {"users": ["prof"]}}
    assert c.Authenticator.admin_users == {"prof"}
    assert c.Spawner.default_url == "/lab"


def test_hub_prepares_a_shared_exchange_and_per_role_configs(hub_config):
    _, state = hub_config
    exchange = state / "exchange"
    assert stat.S_IMODE(exchange.stat().st_mode) == 0o1777
    assert (state / "course" / "source").resolve() == (ROOT / "labs" / "source").resolve()
    student = (state / "config" / "students" / "nbgrader_config.py").read_text()
    assert "JUPYTERHUB_USER" in student and str(exchange) in student
    server = (state / "config" / "students" / "jupyter_server_config.json").read_text()
    assert '"nbgrader.server_extensions.formgrader": false' in server
    assert "CourseDirectory.root" in (state / "config" / "instructors" / "nbgrader_config.py").read_text()
