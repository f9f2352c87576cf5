"""Fetch the pinned front-end libraries from the npm registry into the web app's static folder.

Run by `make` at set-up: the libraries are never copied into the repository. Each tarball is
checked against the integrity hash pinned in frontend.json before anything is extracted, so a
changed or truncated download fails loudly instead of serving unknown JavaScript.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import sys
import tarfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "src" / "outreach" / "web" / "static" / "vendor"


def tarball_url(registry: str, name: str, version: str) -> str:
    return f"{registry.rstrip('/')}/{name}/-/{name.split('/')[-1]}-{version}.tgz"


def verified_tarball(url: str, integrity: str) -> bytes:
    algorithm, _, expected = integrity.partition("-")
    with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 (https registry URL)
        payload: bytes = response.read()
    actual = base64.b64encode(hashlib.new(algorithm, payload).digest()).decode()
    if actual != expected:
        sys.exit(f"fetch_frontend: {url} does not match its pinned integrity {integrity}")
    return payload


def main() -> None:
    spec = json.loads((ROOT / "frontend.json").read_text())
    registry = os.environ.get("NPM_CONFIG_REGISTRY", spec["registry"])
    TARGET.mkdir(parents=True, exist_ok=True)
    for name, package in spec["packages"].items():
        wanted = {TARGET / dest: source for source, dest in package["files"].items()}
        if all(path.exists() for path in wanted):
            continue
        url = tarball_url(registry, name, package["version"])
        payload = verified_tarball(url, package["integrity"])
        with tarfile.open(fileobj=io.BytesIO(payload), mode="r:gz") as archive:
            for path, source in wanted.items():
                member = archive.extractfile(source)
                if member is None:
                    sys.exit(f"fetch_frontend: {source} is missing from {url}")
                path.write_bytes(member.read())
        print(f"fetched {name}@{package['version']} from {registry}")


if __name__ == "__main__":
    main()
