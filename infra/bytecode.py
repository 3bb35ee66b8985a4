"""Byte code for the Lambda package. `chalice package` and `chalice deploy` zip sources only, and
Lambda's /var/task is read-only, so without this every cold start compiles every module it
imports: 458 ms instead of 168 ms to import the app, and 349 ms instead of 117 ms for boto3 alone
(docs/performance.md, section 1)."""

from __future__ import annotations

import compileall
import os
import py_compile
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

TASK_ROOT = "/var/task"  # where Lambda unpacks the package: the paths tracebacks show
PYC_MODE = 0o644 << 16  # external_attr of an -rw-r--r-- file


def precompile(package: Path) -> int:
    """Add `__pycache__/<module>.<cache tag>.pyc` for every `.py` of the zip that has none, and
    return how many were added (0 when the package already has them: safe to run twice).

    The byte code is of this interpreter, which is the one chalice targets (it deploys to the
    Lambda runtime of the local Python minor version), and is "unchecked-hash": Python loads it
    without comparing it with the source, whose timestamps zip and Lambda do not keep. Files that
    do not compile under this Python (a package's Python 2 examples) are left as sources."""
    with zipfile.ZipFile(package) as source:
        entries = source.infolist()
        names = {e.filename for e in entries}
        sources = [
            e for e in entries if e.filename.endswith(".py") and _pyc_name(e.filename) not in names
        ]
        if not sources:
            return 0
        with tempfile.TemporaryDirectory(prefix="pulse-bytecode-") as tmp:
            root = Path(tmp) / "src"
            for entry in sources:
                source.extract(entry, root)
            compileall.compile_dir(
                root,
                quiet=2,
                stripdir=str(root),
                prependdir=TASK_ROOT,
                invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
                workers=1,
            )
            built = Path(tmp) / "package.zip"
            added = 0
            with zipfile.ZipFile(built, "w", zipfile.ZIP_DEFLATED) as target:
                for entry in entries:
                    target.writestr(entry, source.read(entry))
                for entry in sources:
                    pyc_name = _pyc_name(entry.filename)
                    compiled = root / pyc_name
                    if not compiled.is_file():
                        continue
                    info = zipfile.ZipInfo(pyc_name, date_time=entry.date_time)
                    info.external_attr = PYC_MODE
                    info.compress_type = zipfile.ZIP_DEFLATED
                    target.writestr(info, compiled.read_bytes())
                    added += 1
            shutil.move(built, _sibling(package))
    os.replace(_sibling(package), package)
    return added


def _pyc_name(py_name: str) -> str:
    directory, _, file = py_name.rpartition("/")
    pyc = f"__pycache__/{file[:-3]}.{sys.implementation.cache_tag}.pyc"
    return f"{directory}/{pyc}" if directory else pyc


def _sibling(package: Path) -> Path:
    return package.with_name(package.name + ".tmp")
