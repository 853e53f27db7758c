"""`pip-compile`, with each file's SHA-256 taken from the package index's own file listing (used by `make lock`).

`pip-compile --generate-hashes` asks the index's JSON API for the hashes of every file of a pinned version and,
where it gets none, downloads each of those files to hash it. The index these machines reach serves no JSON
API, so that meant downloading every published file of every pinned version (tensorflow, jaxlib, scipy... for
every platform: tens of GB, over an hour). The simple index lists each file with its `#sha256=` digest (PEP 503),
the digest pip itself checks a download against; this takes it from there and hashes the file only when the
listing has none (the change proposed upstream as pip-tools PR 1670). Everything else is pip-compile unchanged:
run it in the scratch venv that `make lock` builds from tools/lock-tools.txt, with pip-compile's arguments.
"""
from __future__ import annotations

import sys

from pip._internal.models.link import Link
from piptools.repositories.pypi import PyPIRepository
from piptools.scripts.compile import cli

_hash_by_download = PyPIRepository._get_file_hash


def _listed_hash(self: PyPIRepository, link: Link) -> str:
    if link.hash_name == "sha256" and link.hash:
        return f"sha256:{link.hash}"
    return _hash_by_download(self, link)


PyPIRepository._get_file_hash = _listed_hash  # type: ignore[method-assign]

if __name__ == "__main__":
    sys.exit(cli())
