"""Byte code for the Lambda package. `chalice package` and `chalice deploy` zip sources only, and
Lambda's /var/task is read-only, so without this every cold start compiles every module it
imports: 458 ms instead of 168 ms to import the app, and 349 ms instead of 117 ms for boto3 alone
(docs/performance.md, section 1).

chalice also zips whatever `chalicelib/__pycache__` holds on the machine that packages. Those
files are timestamp-checked against their source's mtime, which the zip does not keep (chalice
dates every entry 1980-01-01), so Python rejects each of them at every cold start and compiles
the source instead. The package therefore keeps no `.pyc` it did not make itself."""

from __future__ import annotations

import compileall
import importlib.util
import os
import py_compile
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

TASK_ROOT = "/var/task"  # where Lambda unpacks the package: the paths tracebacks show
PYC_MODE = 0o644 << 16  # external_attr of an -rw-r--r-- file
UNCHECKED_HASH = 0b01  # the pyc header's flags: hash-based, source never compared (PEP 552)
CACHE_DIR = "__pycache__"


def precompile(package: Path) -> int:
    """Give every `.py` of the zip an unchecked-hash `__pycache__/<module>.<cache tag>.pyc` of
    this interpreter and drop every other `__pycache__` entry (stale, timestamp-checked, another
    Python's, optimized); return how many `.pyc` files were written (0 when the package already
    had exactly those: safe to run twice).

    The byte code is of this interpreter, which is the one chalice targets (it deploys to the
    Lambda runtime of the local Python minor version), and is "unchecked-hash": Python loads it
    without comparing it with the source, whose timestamps zip and Lambda do not keep. A `.pyc`
    already in the zip is kept only if it is such a file for the very source beside it. Files
    that do not compile under this Python (a package's Python 2 examples) are left as sources."""
    with zipfile.ZipFile(package) as source:
        entries = source.infolist()
        by_name = {e.filename: e for e in entries}
        kept = [e for e in entries if not _cached(e.filename) or _current(source, e, by_name)]
        names = {e.filename for e in kept}
        sources = [
            e for e in kept if e.filename.endswith(".py") and _pyc_name(e.filename) not in names
        ]
        if not sources and len(kept) == len(entries):
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
                for entry in kept:
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


def is_current(pyc: bytes, source: bytes) -> bool:
    """Whether Python loads `pyc` for `source` without looking at the source's file: this
    interpreter's magic number, unchecked-hash flags and the source's hash."""
    return (
        pyc[:4] == importlib.util.MAGIC_NUMBER
        and int.from_bytes(pyc[4:8], "little") == UNCHECKED_HASH
        and pyc[8:16] == importlib.util.source_hash(source)
    )


def _cached(name: str) -> bool:
    """An entry of a `__pycache__` directory: byte code the import system may pick up."""
    return CACHE_DIR in name.split("/")[:-1]


def _current(
    archive: zipfile.ZipFile, entry: zipfile.ZipInfo, by_name: dict[str, zipfile.ZipInfo]
) -> bool:
    source = by_name.get(_source_name(entry.filename))
    if source is None or _pyc_name(source.filename) != entry.filename:
        return False
    return is_current(archive.read(entry), archive.read(source))


def _pyc_name(py_name: str) -> str:
    directory, _, file = py_name.rpartition("/")
    pyc = f"{CACHE_DIR}/{file[:-3]}.{sys.implementation.cache_tag}.pyc"
    return f"{directory}/{pyc}" if directory else pyc


def _source_name(pyc_name: str) -> str:
    """`a/__pycache__/b.<tag>.pyc` -> `a/b.py` (the caller checks the tag)."""
    parent, _, file = ("/" + pyc_name).rpartition(f"/{CACHE_DIR}/")
    return f"{parent}/{file.split('.', 1)[0]}.py".lstrip("/")


def _sibling(package: Path) -> Path:
    return package.with_name(package.name + ".tmp")
