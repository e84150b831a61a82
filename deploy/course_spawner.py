"""Each single-user server as its user's own OS account, inside a bubblewrap sandbox of its own.

Two walls, each enough for what it guards:

* **an OS account per hub user** (``course_accounts``): files, processes and the exchange's
  owner checks tell users apart, as on any multi-user machine;
* **a sandbox per server** (``bwrap``, new mount, PID, IPC and UTS namespaces): the server, its
  terminals and kernels see a file system made only of read-only ``/usr``, a few files of
  ``/etc``, the Python installation and virtual environment, the repository's ``cnnlib``
  package, the user's home (as ``/home/NAME``), the exchange and their role's Jupyter
  configuration, plus private ``/tmp`` and ``/dev``. The course directory, the lab sources, the
  hub's state and other homes do not exist there; nor do other users' processes (``/proc`` shows
  the sandbox's own). An instructor's sandbox adds the repository (read-only) and the course
  directory (read-write, as ``~/course``, where the formgrader expects it), and shares the
  host's PID namespace so that the autograder can start its own sandbox in it.

bwrap runs as root only to build the mounts; ``setpriv`` then becomes the user, drops every
capability and sets no-new-privileges before the server starts. Because root builds the mounts,
the Python under /root that the venv is made from stays usable, though no user could reach it.

``setsid --wait`` is the process the hub tracks: it outlives a restart of the hub (servers keep
running, as ``JupyterHub.cleanup_servers = False`` asks), and when the hub stops the server it
dies, taking the sandbox with it (``--die-with-parent``; the PID namespace ends all its processes).
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import sys
from pathlib import Path

from jupyterhub.spawner import LocalProcessSpawner
from traitlets import List, Unicode

# /etc files a server needs: accounts and name service (whoami, nbgrader's user name), dynamic
# linker, time zone, TLS roots (nbgitpuller over https), MIME types (Jupyter), login shell setup
ETC = ("passwd", "group", "nsswitch.conf", "hosts", "host.conf", "resolv.conf", "localtime", "timezone",
       "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "ssl", "ca-certificates", "ca-certificates.conf",
       "mime.types", "profile", "bash.bashrc", "inputrc", "alternatives", "terminfo", "gitconfig",
       "os-release", "debian_version", "locale.alias", "fonts")


def python_roots() -> list[Path]:
    """The Python installation and the environment the servers run, as real paths."""
    roots = {Path(os.path.realpath(p)) for p in (sys.base_prefix, sys.prefix)}
    roots.add(Path(os.path.realpath(sys.executable)).parent.parent)
    return sorted(r for r in roots if r != Path("/usr") and Path("/usr") not in r.parents)


def end_processes_of(uid: int) -> None:
    """SIGKILL every process whose real uid is ``uid`` (a hub user's own account, never root's)."""
    if uid == 0:
        raise ValueError("refusing to end root's processes")
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            real_uid = next(int(line.split()[1]) for line in status.read_text().splitlines()
                            if line.startswith("Uid:"))
            if real_uid == uid:
                os.kill(int(status.parent.name), signal.SIGKILL)
        except (OSError, StopIteration, ValueError):
            continue


class SandboxedSpawner(LocalProcessSpawner):
    """LocalProcessSpawner whose server runs as the user, in a bubblewrap sandbox."""

    homes = Unicode(config=True, help="Folder of the users' homes on the host, HOMES/NAME; each user's "
                                      "server shows theirs as /home/NAME.")
    exchange = Unicode(config=True, help="nbgrader's exchange folder (read-write in every server).")
    course = Unicode(config=True, help="The instructors' course directory (read-write for instructors).")
    repository = Unicode(config=True, help="The course repository (read-only for instructors; students "
                                           "get its cnnlib package only).")
    state = Unicode(config=True, help="The hub's state folder: hidden in every server, but for the "
                                      "parts bound above.")
    role_config = Unicode(config=True, help="Folder with one Jupyter configuration folder per role "
                                            "(students/, instructors/) and profile.sh.")
    server_cmd = List(Unicode(), config=True, help="The single-user server command, run in the sandbox.")
    instructor_group = Unicode("instructors", config=True, help="Hub group whose members are instructors.")

    @property
    def role(self) -> str:
        return "instructors" if any(g.name == self.instructor_group for g in self.user.groups) else "students"

    @property
    def home(self) -> Path:
        return Path(self.homes) / self.user.name

    def make_preexec_fn(self, name):
        """bwrap starts as root (to mount); setpriv in the sandbox becomes the user."""
        return lambda: os.chdir("/")

    def user_env(self, env):
        env.update(USER=self.user.name, HOME=f"/home/{self.user.name}", SHELL="/bin/bash")
        return env

    def get_env(self):
        env = super().get_env()
        venv_bin = str(Path(self.server_cmd[0]).parent)
        env.update(JUPYTER_CONFIG_PATH=str(Path(self.role_config) / self.role), COURSE_ROLE=self.role,
                   COURSE_EXCHANGE=self.exchange, PATH=f"{venv_bin}:/usr/local/bin:/usr/bin:/bin")
        if self.role == "instructors":
            env["COURSE_DIR"] = f"/home/{self.user.name}/course"
        return env

    def sandbox_args(self) -> list[str]:
        """bwrap's options for this user's server, in mount order."""
        account = pwd.getpwnam(self.user.name)
        home = f"/home/{self.user.name}"
        instructor = self.role == "instructors"
        args = ["--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--die-with-parent",
                "--new-session", "--hostname", "course-hub", "--ro-bind", "/usr", "/usr"]
        if not instructor:
            args.insert(0, "--unshare-pid")
        made: set[Path] = set()

        def bind(option: str, source: str | Path, dest: str | Path | None = None) -> None:
            """Mount ``source`` at ``dest`` (``--tmpfs``: an empty folder); the folders above it are
            made traversable (bwrap would make them 0700: only root could walk through)."""
            dest = Path(dest or source)
            for parent in reversed(dest.parents):
                if parent != Path("/") and parent not in made:
                    args.extend(["--perms", "0755", "--dir", str(parent)])
                    made.add(parent)
            if option == "--tmpfs":
                args.extend(["--perms", "0755", "--tmpfs", str(dest)])
            else:
                args.extend([option, str(source), str(dest)])

        for top in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
            path = Path("/") / top
            if path.is_symlink():
                args.extend(["--symlink", os.readlink(path), str(path)])
            elif path.is_dir():
                bind("--ro-bind", path)
        for name in ETC:
            bind("--ro-bind-try", f"/etc/{name}")
        profile_d = Path("/etc/profile.d")
        for script in sorted(profile_d.glob("*.sh")) if profile_d.is_dir() else []:
            bind("--ro-bind", script)
        bind("--ro-bind", Path(self.role_config) / "profile.sh", "/etc/profile.d/zz-course.sh")
        # /tmp first: a repository or state folder under /tmp is bound on top of it
        # a student's /proc shows the sandbox's processes only. An instructor's is the host's: the
        # autograder's own sandbox (bwrap, in a user namespace) can mount a /proc only where a
        # whole one is visible, and bwrap's --proc covers parts of it.
        args.extend(["--bind", "/proc", "/proc"] if instructor else ["--proc", "/proc"])
        args.extend(["--dev", "/dev", "--perms", "1777", "--tmpfs", "/dev/shm",
                     "--perms", "1777", "--tmpfs", "/tmp", "--perms", "0755", "--tmpfs", "/run"])
        repo = Path(self.repository)
        bind("--ro-bind", repo if instructor else repo / "cnnlib")
        for root in python_roots():
            bind("--ro-bind", root)
        # the state folder, emptied; then only what this role may use of it
        bind("--tmpfs", self.state)
        bind("--bind", self.exchange)
        bind("--ro-bind", Path(self.role_config) / self.role)
        bind("--bind", self.home, home)
        if instructor:   # in the home, where the formgrader looks for it
            bind("--bind", self.course, f"{home}/course")
        args.extend(["--remount-ro", "/", "--chdir", home])
        setpriv = ["setpriv", f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}", "--init-groups",
                   "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]
        return [*args, "--", *setpriv]

    async def stop(self, now=False):
        await super().stop(now=now)
        if self.role == "instructors":
            # no PID namespace ends what an instructor's server left running (kernels, terminals):
            # the account is the hub user's alone, so its processes go with the server
            end_processes_of(pwd.getpwnam(self.user.name).pw_uid)

    async def start(self):
        from course_accounts import ensure_account  # beside this file

        account = ensure_account(self.user.name, self.home)
        if self.role == "instructors":   # the mount point of the course directory, the instructor's
            (self.home / "course").mkdir(exist_ok=True)
            os.chown(self.home / "course", account.pw_uid, account.pw_gid)
        bwrap, setsid = shutil.which("bwrap"), shutil.which("setsid")
        if not (bwrap and setsid and shutil.which("setpriv")):
            raise RuntimeError("the course hub needs bubblewrap (apt-get install bubblewrap) and "
                               "util-linux's setsid and setpriv")
        self.cmd = [setsid, "--wait", bwrap, *self.sandbox_args(), *self.server_cmd]
        return await super().start()
