"""The last step of every Lambda code package (`make package`, `make deploy`): ship only what the
functions load, then add the byte code (infra/bytecode.py). `finish(zip)` is that step.

chalice zips requirements.txt's whole dependency closure: botocore's data for ~440 services (86% of
a 20 MB zip), boto3 and s3transfer (botocore needs neither; Pulse builds every client from one
botocore session, chalicelib/aws.py), and cffi and pycparser (argon2's bindings are compiled: at
run time they need only `_cffi_backend`). What the functions load is the data of four services
and four files of botocore's own (found by recording botocore's loader while tests/integration
and tests/realtime ran the app: dynamodb and s3; and by reading every `create_client` call:
ssm and sqs, whose clients those tests replace):

- dynamodb (PynamoDB), ssm (the secrets, chalicelib/config.py), s3 (attachments,
  chalicelib/outbound/files.py), sqs (webhook deliveries, chalicelib/outbound/queue.py). The
  Management API is called with botocore's signer and HTTP session alone (sockets/sender.py), no
  service model.
- `endpoints.json` is kept with only those services' entries: botocore reads it whole when it
  builds the first client (1.25 MB of JSON parsed at every cold start), and uses only the entry of
  the service it builds.
- Each service's `examples-1.json` is documentation, never read by a client.

A trimmed botocore that misses a model fails only at run time (UnknownServiceError), so
tests/infra/test_lean_package.py serves the handlers from the unpacked package. A new service
client in chalicelib/ means a new entry in SERVICES."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from . import bytecode

# The services whose clients chalicelib/ builds (a test checks each create_client call's name).
SERVICES = ("dynamodb", "s3", "sqs", "ssm")
# Top-level packages of the closure nothing in the package imports (a test imports the app and
# serves every handler without them).
UNUSED_PACKAGES = ("boto3", "s3transfer", "cffi", "pycparser")
DATA = "botocore/data/"
ENDPOINTS = DATA + "endpoints.json"
UNREAD_DATA_FILES = ("examples-1.json",)
LIMIT_BYTES = 6 * 1024 * 1024  # the target for the zipped package (docs/performance.md)


@dataclass(frozen=True)
class Finished:
    """What `finish` did to a package: entries removed, .pyc files added, its size after."""

    dropped: int
    compiled: int
    size: int


def finish(package: Path) -> Finished:
    """Trim the zip to what the functions load, then add its byte code. Safe to run twice (the
    second run changes nothing and reports 0 dropped, 0 compiled)."""
    dropped = trim(package)
    compiled = bytecode.precompile(package)
    return Finished(dropped=dropped, compiled=compiled, size=package.stat().st_size)


def trim(package: Path) -> int:
    """Remove what the functions never load (module docstring); returns how many entries went."""
    with zipfile.ZipFile(package) as source:
        entries = source.infolist()
        kept = [e for e in entries if keeps(e.filename)]
        endpoints = next((e for e in kept if e.filename == ENDPOINTS), None)
        new_endpoints = trimmed_endpoints(source.read(endpoints)) if endpoints else None
        if len(kept) == len(entries) and (
            endpoints is None or new_endpoints == source.read(endpoints)
        ):
            return 0
        with tempfile.TemporaryDirectory(prefix="pulse-lean-") as tmp:
            built = Path(tmp) / "package.zip"
            with zipfile.ZipFile(built, "w", zipfile.ZIP_DEFLATED) as target:
                for entry in kept:
                    body = new_endpoints if entry is endpoints else source.read(entry)
                    target.writestr(entry, body or b"")
            shutil.move(built, package.with_name(package.name + ".tmp"))
    os.replace(package.with_name(package.name + ".tmp"), package)
    return len(entries) - len(kept)


def keeps(name: str) -> bool:
    """Whether a zip entry ships."""
    top = name.split("/", 1)[0]
    distribution = top.split("-", 1)[0].lower() if top.endswith(".dist-info") else None
    if top in UNUSED_PACKAGES or distribution in UNUSED_PACKAGES:
        return False
    if not name.startswith(DATA):
        return True
    parts = name[len(DATA) :].split("/")
    if len(parts) == 1:  # botocore's own files: endpoints, partitions, retry and defaults
        return True
    return parts[0] in SERVICES and parts[-1] not in UNREAD_DATA_FILES


def trimmed_endpoints(raw: bytes) -> bytes:
    """endpoints.json with, in every partition, only the entries of SERVICES (the rest as is)."""
    data = json.loads(raw)
    for partition in data["partitions"]:
        services = partition.get("services", {})
        partition["services"] = {k: v for k, v in services.items() if k in SERVICES}
    return json.dumps(data, separators=(",", ":")).encode()
