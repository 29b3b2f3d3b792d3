"""Content hashes shared by the recorder, the analysis and the comparison.

Hashes are written as ``"<algorithm>:<hex digest>"`` so that the algorithm can change in a
later schema version without ambiguity.
"""

from __future__ import annotations

import hashlib

SOURCE_HASH_ALGORITHM = "sha256"


def source_hash(source: str | list[str]) -> str:
    """Hash a cell's source as stored in a notebook (a string, or nbformat's list of lines).

    The hash is taken over the UTF-8 text with line endings normalised to ``\\n``, so that the
    same code hashes the same whether it came from a kernel's execute request or a saved file.
    """
    text = "".join(source) if isinstance(source, list) else source
    text = text.replace("\r\n", "\n")
    return f"{SOURCE_HASH_ALGORITHM}:{hashlib.sha256(text.encode('utf-8')).hexdigest()}"


def bytes_hash(data: bytes) -> str:
    """Hash bytes held in memory (small payloads such as outputs or manifests)."""
    return f"{SOURCE_HASH_ALGORITHM}:{hashlib.sha256(data).hexdigest()}"
