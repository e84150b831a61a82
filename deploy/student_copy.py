"""The course as a student may see it: a git repository of the chapters and ``cnnlib``, no lab sources.

The book's JupyterHub launch buttons pull ``repository.url`` (``_config.yml``) into the student's
home with nbgitpuller, which clones the *whole* repository. This repository holds what students
must never read: the labs' solutions and hidden tests (``labs/source``), the cheater and one-slip
cases (``labs/cases``), the tests' mutants of the labs' answers and the grader's fixtures. So the
launch buttons name a **student copy**, made by this script from a commit of this repository:

    python deploy/student_copy.py DEST [--ref HEAD]

writes a new git repository at ``DEST`` (one commit on branch ``main``) holding only the
paths in :data:`ALLOWED`, after checking that no file in it holds an nbgrader marker line or a
whole solution or hidden-test region of ``labs/source``. Publish it (push ``DEST`` to the repository
that ``repository.url`` names) and keep this repository itself private.
"""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
#: What a student needs to open and run a chapter on the hub (the hub's image installs cnnlib
#: itself; its source is here to be read). Anything not listed stays out: an allow-list, so a
#: new folder of solutions cannot slip in by being forgotten.
ALLOWED = ("chapters", "intro.md", "references.bib", "cnnlib", "pyproject.toml")
BEGIN = ("### BEGIN SOLUTION", "### BEGIN HIDDEN TESTS")   # nbgrader's region markers, as lines
END = ("### END SOLUTION", "### END HIDDEN TESTS")
README = """# Popular DNN Models: the course companion, student copy

The chapters of the book (`chapters/`, MyST Markdown notebooks: open them in JupyterLab with
"Open With > Notebook") and the library they import (`cnnlib/`). Labs are not here: fetch them
from the *Assignments* tab of the course's JupyterHub.
"""


class StudentCopyError(RuntimeError):
    """The copy could not be made, or it holds something a student must not read."""


def secret_regions(labs_source: Path = ROOT / "labs" / "source") -> list[tuple[str, ...]]:
    """The solution and hidden-test regions of the labs, each as its code lines, stripped.

    Blank lines and comments are left out, and so are regions too small to be recognised
    (one line shorter than 40 characters: ``return a + b`` is in many a file).
    """
    regions: list[tuple[str, ...]] = []
    for path in sorted(labs_source.glob("*/*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            region: list[str] | None = None
            for line in cell.source.splitlines():
                text = line.strip()
                if text.startswith(BEGIN):
                    region = []
                elif text.startswith(END):
                    if region and (len(region) > 1 or len(region[0]) >= 40):
                        regions.append(tuple(region))
                    region = None
                elif region is not None and text and not text.startswith("#"):
                    region.append(text)
    return regions


def leaks_in(copy: Path, regions: list[tuple[str, ...]]) -> list[str]:
    """Files of ``copy`` (its ``.git`` aside) holding an nbgrader marker line or a whole region."""
    found = []
    for path in sorted(p for p in copy.rglob("*") if p.is_file() and ".git" not in p.relative_to(copy).parts):
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        lines = [t for t in (line.strip() for line in text.splitlines()) if t and not t.startswith("#")]
        if any(line.strip().startswith(BEGIN + END) for line in text.splitlines()):
            found.append(f"{path.relative_to(copy)}: an nbgrader marker")
            continue
        joined = "\n" + "\n".join(lines) + "\n"
        for region in regions:
            if "\n" + "\n".join(region) + "\n" in joined:
                found.append(f"{path.relative_to(copy)}: {region[0]!r}...")
                break
    return found


def write_student_copy(dest: Path, ref: str = "HEAD", repo: Path = ROOT) -> Path:
    """A new git repository at ``dest`` with the allowed paths of ``ref``; refuses a non-empty ``dest``."""
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise StudentCopyError(f"{dest} exists and is not empty: give a new folder")
    tree = subprocess.run(["git", "-C", str(repo), "ls-tree", "--name-only", ref],
                          capture_output=True, text=True, check=False)
    if tree.returncode != 0:
        raise StudentCopyError(f"{ref} is not a commit of {repo}: {tree.stderr.strip()}")
    paths = [p for p in ALLOWED if p in tree.stdout.splitlines()]
    archive = subprocess.run(["git", "-C", str(repo), "archive", "--format=tar", ref, "--", *paths],
                             capture_output=True, check=False)
    if archive.returncode != 0:
        raise StudentCopyError(f"git archive of {ref} failed: {archive.stderr.decode().strip()}")
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(dest, filter="data")
    (dest / "README.md").write_text(README, encoding="utf-8")
    leaks = leaks_in(dest, secret_regions(repo / "labs" / "source"))
    if leaks:
        shutil.rmtree(dest)
        raise StudentCopyError("the student copy would hold solutions or hidden tests: " + "; ".join(leaks))
    commit = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", ref],
                            capture_output=True, text=True, check=True).stdout.strip()
    git = ["git", "-C", str(dest), "-c", "user.name=course", "-c", "user.email=course@localhost"]
    subprocess.run([*git, "init", "--quiet", "--initial-branch=main"], check=True)
    subprocess.run([*git, "add", "--all"], check=True)
    subprocess.run([*git, "commit", "--quiet", "-m", f"Student copy of the course companion at {commit}"],
                   check=True)
    return dest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dest", type=Path, help="a new (or empty) folder for the student copy")
    parser.add_argument("--ref", default="HEAD", help="the commit to copy (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        write_student_copy(args.dest, args.ref)
    except StudentCopyError as exc:
        print(f"student_copy: {exc}", file=sys.stderr)
        return 1
    print(f"student copy of {args.ref} in {args.dest}: push it to the repository that _config.yml's "
          "repository.url names")
    return 0


if __name__ == "__main__":
    sys.exit(main())
