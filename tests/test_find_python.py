"""scripts/find-python picks the interpreter the Makefile builds the venv with: the
Dockerfile's 3.13 when there is one, so development, CI and production run one version."""

import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "find-python"


def _fake_python(path: Path, version: str) -> None:
    """A stand-in interpreter: passes the version check, reports its own path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'#!/bin/sh\ncase "$2" in *print*) echo "{path}";; *) exit 0;; esac\n'
                    f"# {version}\n")
    path.chmod(0o755)


def _find(tmp_path, path_entries, pyenv_root):
    env = {"PATH": ":".join([*map(str, path_entries), "/usr/bin", "/bin"]),
           "PYENV_ROOT": str(pyenv_root), "HOME": str(tmp_path)}
    return subprocess.run(["/bin/sh", str(SCRIPT)], env=env, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_it_prefers_3_13_on_the_path(tmp_path):
    bin_dir = tmp_path / "bin"
    for version in ("3.14", "3.13", "3.12"):
        _fake_python(bin_dir / f"python{version}", version)
    assert _find(tmp_path, [bin_dir], tmp_path / "no-pyenv") == str(bin_dir / "python3.13")


def test_it_prefers_3_13_among_pyenv_versions(tmp_path):
    root = tmp_path / ".pyenv"  # a dot in the path, as in ~/.pyenv
    for version in ("3.12.1", "3.13.0", "3.14.2"):
        _fake_python(root / "versions" / version / "bin" / "python3", version)
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    found = _find(tmp_path, [empty], root)
    assert found == str(root / "versions" / "3.13.0" / "bin" / "python3")


def test_it_says_what_to_install_when_there_is_none(tmp_path):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    result = subprocess.run(["/bin/sh", str(SCRIPT)], capture_output=True, text=True,
                            env={"PATH": str(empty), "PYENV_ROOT": str(tmp_path),
                                 "HOME": str(tmp_path)})
    assert result.returncode == 1
    assert "Python 3.12 or newer" in result.stderr
