"""The course's deployment files: the hub configuration, the Helm values and the image.

The Kubernetes values cannot be deployed here (no cluster) and the image cannot be built (no
Docker engine); they are checked for what can be checked offline: every key one that the Zero to
JupyterHub chart's schema (4.x) knows (``KNOWN`` transcribes the parts of that schema the values
use; ``None`` marks a free-form mapping; the chart's own schema where ``Z2JH_CHART`` names an
unpacked chart), the hub's Python run with stand-ins for the spawner,
the init container's script run on a real folder, the policies read from the values, and the
Dockerfile's copies matched against the .dockerignore the way Docker matches them.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import stat
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
VALUES = DEPLOY / "kubernetes" / "values.yaml"
sys.path.insert(0, str(DEPLOY))
import course_exchange  # noqa: E402

_FREE = None
KNOWN: dict = {
    "hub": {"config": _FREE, "extraConfig": _FREE, "loadRoles": _FREE, "extraEnv": _FREE,
            "db": {"type": _FREE, "pvc": _FREE, "url": _FREE, "password": _FREE},
            "cookieSecret": _FREE, "image": {"name": _FREE, "tag": _FREE}, "services": _FREE,
            "networkPolicy": _FREE, "resources": _FREE},
    "proxy": {"service": _FREE, "https": _FREE, "chp": _FREE, "secretToken": _FREE},
    "singleuser": {
        "image": {"name": _FREE, "tag": _FREE, "pullPolicy": _FREE, "pullSecrets": _FREE},
        "defaultUrl": _FREE, "cmd": _FREE, "uid": _FREE, "fsGid": _FREE, "allowPrivilegeEscalation": _FREE,
        "cpu": {"limit": _FREE, "guarantee": _FREE},
        "memory": {"limit": _FREE, "guarantee": _FREE},
        "storage": {"type": _FREE, "capacity": _FREE, "homeMountPath": _FREE, "extraVolumes": _FREE,
                    "extraVolumeMounts": _FREE, "dynamic": _FREE, "static": _FREE, "extraLabels": _FREE},
        "extraEnv": _FREE, "extraFiles": _FREE, "profileList": _FREE, "lifecycleHooks": _FREE,
        "initContainers": _FREE, "extraLabels": _FREE,
        "networkPolicy": {"enabled": _FREE, "egress": _FREE, "ingress": _FREE,
                          "egressAllowRules": {"cloudMetadataServer": _FREE,
                                               "dnsPortsCloudMetadataServer": _FREE,
                                               "dnsPortsKubeSystemNamespace": _FREE,
                                               "dnsPortsPrivateIPs": _FREE, "nonPrivateIPs": _FREE,
                                               "privateIPs": _FREE},
                          "interNamespaceAccessLabels": _FREE, "allowedIngressPorts": _FREE},
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


@pytest.fixture(scope="module")
def values() -> dict:
    return yaml.safe_load(VALUES.read_text())


def test_helm_values_use_only_keys_the_chart_knows(values):
    assert not _unknown_keys(values, KNOWN)


def _merged(defaults: dict, ours: dict) -> dict:
    """Helm's merge of a values file over the chart's defaults (mappings merge, the rest replaces)."""
    out = dict(defaults)
    for key, value in ours.items():
        both = isinstance(value, dict) and isinstance(defaults.get(key), dict)
        out[key] = _merged(defaults[key], value) if both else value
    return out


def test_helm_values_pass_the_charts_own_schema(values):
    """The chart's released values.schema.json, as `helm install` applies it: the values merged
    over the chart's defaults. No package registry ships the chart, so the test reads an unpacked
    chart named by Z2JH_CHART (`helm pull jupyterhub/jupyterhub --version CHART --untar` makes one;
    deploy/README.md) and skips, saying so, without it; the key check above runs everywhere."""
    chart = os.environ.get("Z2JH_CHART")
    if not chart:
        pytest.skip("Z2JH_CHART is not set: no unpacked Zero to JupyterHub chart to read the schema from")
    import json

    import jsonschema

    schema = json.loads((Path(chart) / "values.schema.json").read_text())
    merged = _merged(yaml.safe_load((Path(chart) / "values.yaml").read_text()), values)
    errors = [f"{'.'.join(map(str, e.path))}: {e.message}" for e in
              jsonschema.Draft7Validator(schema).iter_errors(merged)]
    assert not errors, "\n".join(errors)
    misspelt = _merged(merged, {"singleuser": {"networkPolicy": {"egressAllowRule": {}}}})
    assert list(jsonschema.Draft7Validator(schema).iter_errors(misspelt)), "the schema caught no misspelt key"


def test_the_key_check_catches_a_misspelt_key():
    assert _unknown_keys({"singleuser": {"memory": {"limt": "4G"}}}, KNOWN) == ["singleuser.memory.limt"]
    assert _unknown_keys({"singleuser": {"networkPolicy": {"egressAllowRules": {"nonPrivateIP": False}}}},
                         KNOWN) == ["singleuser.networkPolicy.egressAllowRules.nonPrivateIP"]


def test_students_pods_reach_neither_the_internet_nor_other_pods(values):
    """The chart's default (nonPrivateIPs: true) lets students' code reach the internet."""
    policy = values["singleuser"]["networkPolicy"]
    rules = policy["egressAllowRules"]
    assert policy["enabled"] is True and policy.get("egress", []) == []
    assert rules["nonPrivateIPs"] is False and rules["privateIPs"] is False
    assert rules["cloudMetadataServer"] is False and rules["dnsPortsCloudMetadataServer"] is False


def _hub_python(values: dict) -> tuple[Config, dict]:
    """Run the values' hub Python as z2jh does (``c`` is the hub's config); its namespace."""
    c = Config()
    namespace = {"c": c, "get_config": lambda: c}
    for name, code in sorted(values["hub"]["extraConfig"].items()):
        exec(compile(code, name, "exec"), namespace)   # noqa: S102  (the values' own code)
    return c, namespace


def _spawner(name: str, *groups: str) -> SimpleNamespace:
    user = SimpleNamespace(name=name, groups=[SimpleNamespace(name=g) for g in groups])
    return SimpleNamespace(user=user, environment={}, extra_labels={})


def test_each_student_pod_runs_as_a_uid_of_its_own_that_collect_checks(values):
    c, ns = _hub_python(values)
    students = c.JupyterHub.load_groups["students"]["users"]
    uids = {name: c.KubeSpawner.uid(_spawner(name, "students")) for name in students}
    assert len(set(uids.values())) == len(students) and 1000 not in uids.values() and 0 not in uids.values()
    # the instructors' collect computes the same uid from the name alone
    assert uids == {name: course_exchange.student_uid(name) for name in students}
    instructor = c.JupyterHub.load_groups["instructors"]["users"][0]
    assert c.KubeSpawner.uid(_spawner(instructor, "instructors")) == 1000 == values["singleuser"]["uid"]
    collect = values["singleuser"]["extraFiles"]["instructors-nbgrader-config"]["stringData"]
    assert 'OwnerCheckedCollect.uids = "name-hash"' in collect
    assert 'ExchangeFactory.collect = "course_exchange.OwnerCheckedCollect"' in collect
    spawner = _spawner("student1", "students")
    c.KubeSpawner.pre_spawn_hook(spawner)
    assert spawner.environment["JUPYTER_CONFIG_PATH"] == "/etc/course/students"
    assert spawner.extra_labels["course-role"] == "students"
    # a roster whose uids clash stops the hub
    clash = values["hub"]["extraConfig"]["10-course.py"].replace(
        "return UID_BASE + int.from_bytes(digest[:8], \"big\") % UID_SPAN", "return UID_BASE")
    with pytest.raises(SystemExit, match="clash"):
        _hub_python({"hub": {"extraConfig": {"10-course.py": clash}}})
    assert ns["UID_BASE"] == course_exchange.UID_BASE and ns["UID_SPAN"] == course_exchange.UID_SPAN


def test_the_authenticator_is_not_the_dummy_and_says_how_to_replace_it(values):
    config = values["hub"]["config"]
    assert config["JupyterHub"]["authenticator_class"] == "nativeauthenticator.NativeAuthenticator"
    assert config["NativeAuthenticator"]["open_signup"] is False
    assert "authenticator_class: generic-oauth" in VALUES.read_text()


@pytest.mark.skipif(os.geteuid() != 0, reason="the init container runs as root (chown)")
def test_the_init_container_prepares_the_exchange_before_any_student(values, tmp_path):
    """Its script, run on a real folder: the exchange's course folder is the instructors' uid's."""
    init = values["singleuser"]["initContainers"][0]
    assert init["securityContext"]["runAsUser"] == 0
    mount = init["volumeMounts"][0]["mountPath"]
    script = init["command"][2].replace(mount, str(tmp_path))
    (tmp_path / "popular-dnn-models").mkdir(mode=0o777)   # a student made it first
    subprocess.run(["sh", "-c", script], check=True)
    course = tmp_path / "popular-dnn-models"
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (course, *course.iterdir())}
    assert modes == {"popular-dnn-models": 0o755, "outbound": 0o755, "inbound": 0o2733, "feedback": 0o711}
    assert {p.stat().st_uid for p in (course, *course.iterdir())} == {1000}
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o1777


def test_helm_values_limit_each_user_and_share_the_exchange(values):
    user = values["singleuser"]
    assert user["cpu"]["limit"] and user["memory"]["limit"]
    mounts = {m["mountPath"] for m in user["storage"]["extraVolumeMounts"]}
    assert "/srv/nbgrader/exchange" in mounts
    students = user["extraFiles"]["students-nbgrader-config"]["stringData"]
    assert 'Exchange.root = "/srv/nbgrader/exchange"' in students
    assert user["extraEnv"]["COURSE_EXCHANGE"] == "/srv/nbgrader/exchange"


# -- the image -------------------------------------------------------------------------------


def _dockerignore_regex(pattern: str) -> re.Pattern:
    """A .dockerignore pattern as Docker's matcher reads it (Go filepath.Match, plus ``**``)."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            i += 2
            if pattern.startswith("/", i):
                i += 1
                out += "(.*/)?"
            else:
                out += ".*"
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(f"^{out}$")


def dockerignore_excludes(path: str, lines: list[str]) -> bool:
    """Whether Docker leaves ``path`` (relative to the context) out of the build context: the last
    pattern that matches the path or one of its parent folders decides; ``!`` keeps it."""
    excluded = False
    parts = path.split("/")
    prefixes = ["/".join(parts[:k]) for k in range(1, len(parts) + 1)]
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keep = line.startswith("!")
        pattern = os.path.normpath(line.lstrip("!").strip()).lstrip("/")
        regex = _dockerignore_regex(pattern)
        if any(regex.match(prefix) for prefix in prefixes):
            excluded = not keep
    return excluded


@pytest.fixture(scope="module")
def dockerignore() -> list[str]:
    return (ROOT / ".dockerignore").read_text().splitlines()


def test_the_dockerignore_matcher_reads_patterns_as_docker_does():
    assert dockerignore_excludes("a/b/c.py", ["*", "!a"]) is False
    assert dockerignore_excludes("a/b/c.py", ["*", "!a", "a/b"]) is True
    assert dockerignore_excludes("x/__pycache__/m.pyc", ["**/__pycache__"]) is True
    assert dockerignore_excludes("secrets.env", ["*.env"]) is True
    assert dockerignore_excludes("a.py", ["*.env"]) is False


@pytest.mark.parametrize("path", [
    "labs/source/lab1_counting/lab1_counting.ipynb", "labs/nbgrader_config.py",
    ".hub/private/jupyterhub.sqlite",
    ".hub/course/gradebook.db", "course/gradebook.db", "course/grades.csv", ".venv/bin/python",
    ".git/config", ".env", "deploy/proxy/node_modules/x.js", "tests/data/x.ipynb", "chapters/alexnet.md",
    "cnnlib/__pycache__/x.pyc", ".hub/private/passwords.txt",
])
def test_the_image_is_not_sent_solutions_state_or_secrets(dockerignore, path):
    assert dockerignore_excludes(path, dockerignore), f"{path} would be sent to the image build"


def _dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) of the Dockerfile, continuation lines joined."""
    text = (DEPLOY / "kubernetes" / "Dockerfile").read_text()
    text = re.sub(r"\\\n", " ", "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("#")))
    return [(ln.split(None, 1)[0].upper(), ln.split(None, 1)[1]) for ln in text.splitlines() if ln.strip()]


def test_every_file_the_image_copies_is_in_the_build_context(dockerignore):
    copies = [args.split() for op, args in _dockerfile() if op in ("COPY", "ADD")]
    assert copies
    for *sources, _dest in copies:
        for source in (s for s in sources if not s.startswith("--")):
            path = ROOT / source
            assert path.exists() or source == "labs/release", source   # made by generate_assignment
            files = [p.relative_to(ROOT).as_posix() for p in path.rglob("*") if p.is_file()] \
                if path.is_dir() else [source]
            sent = [f for f in files or [f"{source}/x.ipynb"] if not dockerignore_excludes(f, dockerignore)]
            assert sent, f"COPY {source}: .dockerignore leaves it out"
    sources = {s for *srcs, _ in copies for s in srcs}
    assert "." not in sources and not any(s.startswith("labs/source") for s in sources)


def test_the_image_pins_its_base_and_the_tested_versions():
    steps = _dockerfile()
    base = next(args for op, args in steps if op == "FROM")
    assert re.fullmatch(r"[\w./-]+:\d+\.\d+\.\d+[\w.-]*(@sha256:[0-9a-f]{64})?", base), base
    install = " ".join(args for op, args in steps if op == "RUN")
    assert "-c /tmp/course/constraints.txt" in install
    for package in ("jupyterhub", "jupyterlab", "nbgrader", "nbgitpuller"):
        assert re.search(rf"\b{package}\b", install), package
    pins = dict(ln.split("==") for ln in (ROOT / "constraints.txt").read_text().splitlines() if "==" in ln)
    from importlib.metadata import version

    for package in ("jupyterhub", "jupyterlab", "nbgrader", "nbgitpuller", "torch"):
        assert pins[package] == version(package).split("+")[0], f"{package}: image and tests disagree"
    assert "bubblewrap" in install and " git" in install


# -- the one-machine hub's configuration -----------------------------------------------------------


@pytest.fixture
def hub_config(tmp_path, monkeypatch):
    if os.geteuid() != 0:
        pytest.skip("the course hub's configuration makes OS accounts: root only")
    monkeypatch.setenv("COURSE_STATE", str(tmp_path))
    monkeypatch.setenv("COURSE_STUDENTS", "cnnhub-ann,cnnhub-bob")
    monkeypatch.setenv("COURSE_INSTRUCTORS", "cnnhub-prof")
    return PyFileConfigLoader("jupyterhub_config.py", path=str(DEPLOY)).load_config(), tmp_path


def test_hub_listens_on_loopback_with_students_and_instructors(hub_config):
    c, _ = hub_config
    assert c.JupyterHub.ip == "127.0.0.1" and c.JupyterHub.hub_ip == "127.0.0.1"
    assert c.JupyterHub.load_groups == {"students": {"users": ["cnnhub-ann", "cnnhub-bob"]},
                                        "instructors": {"users": ["cnnhub-prof"]}}
    assert c.Authenticator.admin_users == {"cnnhub-prof"}
    assert c.JupyterHub.authenticator_class == "pam"
    assert c.JupyterHub.spawner_class == "course_spawner.SandboxedSpawner"
    assert c.Spawner.default_url == "/lab"


def test_each_hub_user_is_an_unprivileged_account_with_a_private_home(hub_config):
    _, state = hub_config
    for name in ("cnnhub-ann", "cnnhub-bob", "cnnhub-prof"):
        account = pwd.getpwnam(name)
        assert account.pw_uid != 0 and account.pw_gid != 0
        assert "sudo" not in {g.gr_name for g in grp.getgrall() if name in g.gr_mem}
        home = (state / "homes" / name).stat()
        assert home.st_uid == account.pw_uid and stat.S_IMODE(home.st_mode) == 0o700


def test_the_hubs_secrets_are_roots_and_the_course_the_instructors(hub_config):
    c, state = hub_config
    private = state / "private"
    assert stat.S_IMODE(private.stat().st_mode) == 0o700 and private.stat().st_uid == 0
    assert Path(c.JupyterHub.cookie_secret_file).parent == private
    assert c.JupyterHub.db_url == f"sqlite:///{private / 'jupyterhub.sqlite'}"
    prof = pwd.getpwnam("cnnhub-prof").pw_uid
    course = (state / "course").stat()
    assert course.st_uid == prof and stat.S_IMODE(course.st_mode) == 0o700
    exchange = state / "exchange"
    assert stat.S_IMODE(exchange.stat().st_mode) == 0o1777
    ours = exchange / "popular-dnn-models"
    assert {p.name: (p.stat().st_uid, stat.S_IMODE(p.stat().st_mode)) for p in (ours, *ours.iterdir())} == {
        "popular-dnn-models": (prof, 0o755), "outbound": (prof, 0o755), "inbound": (prof, 0o2733),
        "feedback": (prof, 0o711)}


def test_hub_prepares_per_role_configs(hub_config):
    _, state = hub_config
    assert (state / "course" / "source").resolve() == (ROOT / "labs" / "source").resolve()
    student = (state / "config" / "students" / "nbgrader_config.py").read_text()
    assert str(state / "exchange") in student and "student_id" not in student   # the account's name
    server = (state / "config" / "students" / "jupyter_server_config.json").read_text()
    assert '"nbgrader.server_extensions.formgrader": false' in server
    for config in (state / "config" / "instructors" / "nbgrader_config.py",
                   state / "course" / "nbgrader_config.py"):
        text = config.read_text()
        assert "course_exchange.OwnerCheckedCollect" in text and "check_owner" not in text
    assert (state / "course" / "students.csv").read_text() == "id\ncnnhub-ann\ncnnhub-bob\n"
    profile = (state / "config" / "profile.sh").read_text()
    assert str(Path(sys.executable).parent) in profile


def test_a_terminals_login_shell_finds_the_course_tools(hub_config, tmp_path):
    """Debian's /etc/profile resets PATH; the profile.d script the sandbox adds puts the venv back."""
    _, state = hub_config
    out = subprocess.run(["bash", "-c", f"PATH=/usr/bin:/bin; . {state / 'config' / 'profile.sh'}; "
                                        "command -v python nbgrader jupyter"],
                         capture_output=True, text=True, check=True).stdout.split()
    assert out == [str(Path(sys.executable).parent / tool) for tool in ("python", "nbgrader", "jupyter")]


def test_an_account_that_is_not_the_hubs_is_never_taken_over(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("root only")
    from course_accounts import AccountError, ensure_account

    with pytest.raises(AccountError, match="was not made for the course hub"):
        ensure_account("nobody", tmp_path / "nobody")
    with pytest.raises(AccountError, match="cannot be an OS account name"):
        ensure_account("Robert'); DROP", tmp_path / "x")


# -- grading in a pod ------------------------------------------------------------------------------


def _cgroup(tmp_path: Path, files: dict[str, str], proc: str) -> tuple[Path, Path]:
    root = tmp_path / "cgroup"
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    (tmp_path / "self-cgroup").write_text(proc)
    return root, tmp_path / "self-cgroup"


@pytest.mark.parametrize(("files", "proc", "limit"), [
    ({"cgroup.controllers": "cpu", "cpu.max": "200000 100000\n"}, "0::/\n", 2.0),    # a pod's, v2
    ({"cgroup.controllers": "cpu", "cpu.max": "max 100000\n"}, "0::/\n", None),      # no limit
    ({"cgroup.controllers": "cpu", "kubepods/pod1/cpu.max": "50000 100000", "kubepods/cpu.max": "max 100000"},
     "0::/kubepods/pod1\n", 0.5),                                                    # nested, v2
    ({"cpu/cpu.cfs_quota_us": "300000", "cpu/cpu.cfs_period_us": "100000"}, "4:cpu,cpuacct:/\n", 3.0),  # v1
    ({"cpu/cpu.cfs_quota_us": "-1", "cpu/cpu.cfs_period_us": "100000"}, "4:cpu,cpuacct:/\n", None),
])
def test_grading_uses_the_pods_cpu_limit(tmp_path, files, proc, limit):
    from autograder.cpus import cgroup_cpu_limit

    root, self_cgroup = _cgroup(tmp_path, files, proc)
    assert cgroup_cpu_limit(root, self_cgroup) == limit


def test_grade_workers_default_to_the_cpus_this_process_may_use(monkeypatch):
    from autograder import cli, cpus

    monkeypatch.setattr(cpus, "cgroup_cpu_limit", lambda: 1.5)
    assert cpus.available_cpus() == 1
    monkeypatch.setattr(cpus, "cgroup_cpu_limit", lambda: None)
    assert cpus.available_cpus() == len(os.sched_getaffinity(0))
    monkeypatch.setattr(cpus, "cgroup_cpu_limit", lambda: 1.0)
    assert cli.build_parser().parse_args(["grade", "lab1_counting"]).workers == 1


def test_the_trials_accounts_keep_their_own_passwords_across_starts(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("root only")
    import local_hub
    import pamela

    users = ["cnnhub-ann", "cnnhub-bob"]
    first = local_hub.prepare_accounts(tmp_path, users)
    assert local_hub.prepare_accounts(tmp_path, users) == first and first["cnnhub-ann"] != first["cnnhub-bob"]
    kept = tmp_path / "private" / "passwords.txt"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600 and kept.stat().st_uid == 0
    pamela.authenticate("cnnhub-ann", first["cnnhub-ann"], service="login")
    with pytest.raises(pamela.PAMError):
        pamela.authenticate("cnnhub-ann", first["cnnhub-bob"], service="login")


# ---------------------------------------------------------------- the student copy the launch buttons pull
def test_the_student_copy_holds_the_chapters_and_nothing_of_the_labs(tmp_path):
    """nbgitpuller clones the whole repository the launch buttons name: that one must be the copy."""
    import student_copy

    copy = student_copy.write_student_copy(tmp_path / "copy")
    top = {p.name for p in copy.iterdir()}
    assert {"chapters", "cnnlib", "intro.md", "README.md"} <= top
    assert not top & {"labs", "tests", "autograder", "deploy", "course"}, top
    assert student_copy.leaks_in(copy, student_copy.secret_regions()) == []
    log = subprocess.run(["git", "-C", str(copy), "log", "--oneline"],
                         capture_output=True, text=True, check=True)
    assert len(log.stdout.splitlines()) == 1   # no history that could hold an older secret


def _course_repo(tmp_path: Path, chapter: str) -> Path:
    """A repository with lab 1's source and one chapter, committed."""
    repo = tmp_path / "repo"
    (repo / "labs" / "source" / "lab1_counting").mkdir(parents=True)
    (repo / "chapters").mkdir()
    nb = ROOT / "labs" / "source" / "lab1_counting" / "lab1_counting.ipynb"
    (repo / "labs" / "source" / "lab1_counting" / nb.name).write_bytes(nb.read_bytes())
    (repo / "chapters" / "leak.md").write_text(chapter)
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@localhost"]
    subprocess.run([*git, "init", "--quiet"], check=True)
    subprocess.run([*git, "add", "--all"], check=True)
    subprocess.run([*git, "commit", "--quiet", "-m", "course"], check=True)
    return repo


@pytest.mark.parametrize("how", ["a solution region pasted into a chapter", "a marker line"])
def test_the_student_copy_refuses_a_chapter_that_holds_a_solution(tmp_path, how):
    import nbformat
    import student_copy

    source = ROOT / "labs" / "source" / "lab1_counting" / "lab1_counting.ipynb"
    solution = next(c.source for c in nbformat.read(source, as_version=4).cells
                    if "### BEGIN SOLUTION" in c.source and c.cell_type == "code")
    body = solution.split("### BEGIN SOLUTION")[1].split("### END SOLUTION")[0]
    chapter = (f"# A chapter\n\n```python\n{body}\n```\n" if how.startswith("a solution")
               else "```python\n### BEGIN HIDDEN TESTS\nassert True\n```\n")
    repo = _course_repo(tmp_path, chapter)
    with pytest.raises(student_copy.StudentCopyError, match="leak.md"):
        student_copy.write_student_copy(tmp_path / "copy", repo=repo)
    assert not (tmp_path / "copy").exists()
