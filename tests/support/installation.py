"""The deployment guide's installation under a temporary root: /opt/mailflow/.venv/bin/mailflow, /etc/mailflow/
config.toml (docs/config.production.toml with the test's database) and /var/lib/mailflow owned by the guide's
`mailflow` system user, so that Postfix's pipe can run the guide's command as that user."""

from __future__ import annotations

import pwd
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "deployment.md"
PRODUCTION_CONFIG = ROOT / "docs" / "config.production.toml"
USER = "mailflow"
GUIDE_COMMAND = "/opt/mailflow/.venv/bin/mailflow"
GUIDE_CONFIG = "/etc/mailflow/config.toml"
GUIDE_STATE = "/var/lib/mailflow"


def guide_useradd() -> list[str]:
    """The guide's own `useradd` line, as the operator types it."""
    line = next(line for line in GUIDE.read_text(encoding="utf-8").splitlines() if line.startswith("useradd "))
    return shlex.split(line.partition("#")[0])


def ensure_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(USER)
    except KeyError:
        # another test session may be adding it at this very moment: its success is as good as ours
        subprocess.run(guide_useradd(), check=False, capture_output=True, timeout=30)
        return pwd.getpwnam(USER)


def with_values(text: str, values: dict[str, str]) -> str:
    """The TOML text with each `[section] key` of `values` set to the TOML literal given there."""
    section, lines = "", []
    for line in text.splitlines():
        header = re.match(r"^\[+([^\]]+)\]+\s*$", line)
        section = header.group(1) if header else section
        key = line.partition("=")[0].strip()
        if "=" in line and not line.startswith("#") and f"[{section}] {key}" in values:
            line = f"{key} = {values[f'[{section}] {key}']}"
        lines.append(line)
    return "\n".join(lines) + "\n"


class Installation:
    """Laid out as the guide's Install section says, under `root`; the code is the project's own."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="mailflow-install-"))
        self.root.chmod(0o755)  # the mailflow user must reach what lies below
        self.venv = self.root / "opt" / "mailflow" / ".venv"
        self.command = self.venv / "bin" / "mailflow"
        self.config_file = self.root / "etc" / "mailflow" / "config.toml"
        self.state = self.root / "var" / "lib" / "mailflow"

    def create(self) -> "Installation":
        user = ensure_user()
        self.config_file.parent.mkdir(parents=True)
        self.config_file.parent.chmod(0o750)
        shutil.chown(self.config_file.parent, "root", user.pw_gid)
        self.state.mkdir(parents=True)
        self.state.chmod(0o750)
        shutil.chown(self.state, user.pw_uid, user.pw_gid)
        self._make_venv()
        return self

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def replacements(self) -> dict[str, str]:
        """The guide's paths and what they are here."""
        return {GUIDE_COMMAND: str(self.command), GUIDE_CONFIG: str(self.config_file), GUIDE_STATE: str(self.state)}

    def database_file(self, name: str) -> Path:
        """An empty SQLite file in /var/lib/mailflow, the mailflow user's (the guide's single-machine case)."""
        path = self.state / name
        path.touch()
        shutil.chown(path, USER, USER)
        return path

    def write_config(self, values: dict[str, str]) -> None:
        """docs/config.production.toml, its paths moved under this root and `values` set, as /etc/mailflow
        keeps it (root:mailflow 0640)."""
        text = PRODUCTION_CONFIG.read_text(encoding="utf-8").replace(GUIDE_STATE, str(self.state))
        self.config_file.write_text(with_values(text, values), encoding="utf-8")
        self.config_file.chmod(0o640)
        shutil.chown(self.config_file, "root", USER)

    def _make_venv(self) -> None:
        """A venv at the guide's path on an interpreter the mailflow user may run, holding the project's
        packages (constraints.txt's versions, installed by scripts/venv.sh into .venv) rather than
        installing them again: read in place when that user may, else copied here (a checkout in a 0700
        folder, as a fresh temporary clone is, is out of its reach; /opt/mailflow in the guide is not)."""
        subprocess.run([_interpreter(), "-m", "venv", "--without-pip", str(self.venv)], check=True, timeout=60)
        self.command.write_text(f"#!{self.venv}/bin/python\nimport sys\nfrom mailflow.cli import main\n"
                                "sys.exit(main())\n")
        self.command.chmod(0o755)
        packages = sysconfig.get_paths()["purelib"]
        done = self._runs_with([packages])
        if done.returncode != 0:
            done = self._runs_with(self._copied(Path(packages)))
        if done.returncode != 0:
            raise RuntimeError(f"the {USER} user cannot run mailflow from {packages}:\n{done.stderr}")

    def _runs_with(self, paths: list[str]) -> subprocess.CompletedProcess[str]:
        [site] = list(self.venv.glob("lib/python3*/site-packages"))
        (site / "mailflow-project.pth").write_text("".join(f"import site; site.addsitedir({p!r})\n" for p in paths))
        return _as_user([str(self.command), "--help"])

    def _copied(self, packages: Path) -> list[str]:
        """The project's code and its installed packages under this root, readable by all; the code first,
        so that `mailflow` is this copy rather than the editable install's checkout."""
        code = self.root / "opt" / "mailflow" / "code"
        for part in ("mailflow", "templates", "db/migrations"):
            shutil.copytree(ROOT / part, code / part, ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copytree(packages, self.root / "opt" / "mailflow" / "packages", ignore=shutil.ignore_patterns(
            "__pycache__", "__editable__*", "playwright*", "pip", "pip-*", "_pytest", "hypothesis"))
        copies = [code, self.root / "opt" / "mailflow" / "packages"]
        for path in (p for copy in copies for p in [copy, *copy.rglob("*")] if not p.is_symlink()):
            path.chmod(path.stat().st_mode | (0o755 if path.is_dir() else 0o444))  # whatever this umask was
        return [str(copy) for copy in copies]


def _interpreter() -> str:
    """This Python (same version as the project's packages), at a path other users may run: the venv's
    base interpreter, else the system's."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in (Path(sys.base_prefix) / "bin" / version, Path("/usr/bin") / version):
        if _runs_as_user(candidate):
            return str(candidate)
    raise RuntimeError(f"no {version} the {USER} user may run (the project's is under {sys.base_prefix})")


def _runs_as_user(interpreter: Path) -> bool:
    try:
        return _as_user([str(interpreter), "-c", "pass"]).returncode == 0
    except OSError:  # not there, or in a folder the user may not enter
        return False


def _as_user(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, user=USER, group=USER, extra_groups=[], capture_output=True, text=True,
                          timeout=60, cwd="/")
