"""The Python SDK installs with pip from its folder, as a new user does, and ships `py.typed`."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

SDK = Path(__file__).resolve().parents[2] / "sdk" / "python"


def test_the_package_installs_from_its_folder_with_its_type_marker(tmp_path: Path) -> None:
    # A copy: pip builds in the source tree (build/, *.egg-info), which must stay clean.
    source = tmp_path / "src"
    shutil.copytree(SDK, source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    target = tmp_path / "site"
    # No build isolation: the backend (setuptools) comes from this environment, so the test is
    # fast and needs no network; a user's `pip install ./sdk/python` fetches it.
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--disable-pip-version-check", "--target", str(target), str(source)],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr
    assert (target / "pulse_sdk" / "py.typed").is_file()
    assert list(target.glob("pulse_sdk-0.1.0.dist-info"))
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); import pulse_sdk, pathlib;"
        "print(pathlib.Path(pulse_sdk.__file__).parent); print(pulse_sdk.__version__)"
    )
    imported = subprocess.run(
        [sys.executable, "-c", probe, str(target)],
        capture_output=True, text=True, check=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    where, version = imported.stdout.split()
    assert Path(where) == target / "pulse_sdk" and version == "0.1.0"
