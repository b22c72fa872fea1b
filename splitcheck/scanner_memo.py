"""Findings of deterministic scanners, memoised in the signature cache by everything they read.

The near-duplicate scanner (pairs, transform guesses, within-split groups) and the statistics scanners
(class mix, drift, adversarial validation, difficulty) are deterministic functions of the splits (ids,
labels, groups, times, the content of every item), of the leakage found before them and of the
embeddings of this scan; on an unchanged dataset a rescan would recompute the same findings (seconds
at 20k images). Scanners say so with ``memoise = True``. Their findings are stored under a key that
digests all of those inputs plus the scanner's settings and splitcheck's version, so a change to any of
them recomputes.

The payload is JSON (the findings) and Parquet (their evidence tables): no pickle, so a cache shared
with others cannot run code. A finding set that would not come back identical is simply not stored.
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
from typing import Any

import numpy as np
import pandas as pd

from splitcheck import __version__
from splitcheck.context import ScanContext
from splitcheck.findings import Finding, Severity
from splitcheck.scanners.base import Scanner
from splitcheck.signatures.cache import SignatureCache
from splitcheck.signatures.images import algo_key

#: Cache ``algo`` of the memoised findings; bump when a scanner's output format changes.
MEMO_ALGO = "scanner-findings-1"


def memo_key(context: ScanContext, scanner: Scanner) -> bytes:
    """Digest of the scanner (name, settings, splitcheck version) and of everything it reads."""
    h = hashlib.blake2b(digest_size=16)
    settings = json.dumps(scanner.settings, sort_keys=True, default=repr)
    severities = json.dumps({code: str(sev) for code, sev in context.severities.items()}, sort_keys=True)
    h.update(f"{MEMO_ALGO}|{__version__}|{scanner.name}|{settings}|{severities}".encode())
    h.update(_inputs_digest(context))
    # the leakage found so far decides which items count as leaked; each evidence table is digested once per
    # scan (context.findings keeps every finding alive for the scan, so its id stays its own)
    evidence_digests = context.memo.setdefault("memo:evidence", {})
    for finding in context.findings:
        h.update(f"|{finding.code}|{','.join(finding.splits)}|".encode())
        if finding.evidence is not None:
            if id(finding) not in evidence_digests:
                evidence_digests[id(finding)] = _frame_digest(finding.evidence)
            h.update(evidence_digests[id(finding)])
    for key in sorted(k for k in context.memo if isinstance(k, str) and k.startswith("embed:")):
        value = context.memo[key]
        if not isinstance(value, (np.ndarray, dict, str)):
            continue  # an embedder, whitener or index object: its repr holds a memory address; the vectors count
        h.update(f"|{key}|".encode())  # embeddings of this scan, used by the statistics where present
        _update_with(h, value)
    return h.digest()


def load(cache: SignatureCache, key: bytes) -> list[Finding] | None:
    """The memoised findings, or None when there are none (or the stored payload is damaged)."""
    stored = cache.get([key], MEMO_ALGO)
    if key not in stored:
        return None
    try:
        return _decode(stored[key])
    except (ValueError, KeyError, TypeError, struct.error, OSError):
        return None


def store(cache: SignatureCache, key: bytes, findings: list[Finding]) -> bool:
    """Memoise ``findings`` if they round-trip identically; True when stored."""
    try:
        payload = _encode(findings)
        same = [f.to_dict() for f in _decode(payload)] == [f.to_dict() for f in findings]
    except (ValueError, TypeError, OSError, ImportError, ArithmeticError):  # e.g. evidence Parquet cannot hold
        return False
    if same:
        cache.put([(key, MEMO_ALGO, payload)])
    return same


def _inputs_digest(context: ScanContext) -> bytes:
    """Digest of every split's items table and content, computed once per scan."""
    if "memo:inputs" not in context.memo:
        h = hashlib.blake2b(digest_size=16)
        for split in context.splits:
            h.update(f"|{split.name}|{split.modality}|{len(split)}|".encode())
            h.update(_frame_digest(split.items))
            if split.modality == "image":
                signatures = context.image_signatures(split)  # digests and properties come from the cache
                h.update(algo_key(context.image_settings).encode())
                h.update(np.where(signatures.valid, signatures.digest, 0).tobytes())
            elif split.features is not None:
                h.update(_frame_digest(split.features))
            elif split.texts is not None:
                h.update(_frame_digest(split.texts.to_frame()))
            elif split.vectors is not None:
                _update_with(h, split.vectors)
            else:  # items reached through getitem (a torch dataset): their content digests
                h.update(context.digests(split).raw.tobytes())
        context.memo["memo:inputs"] = h.digest()
    return context.memo["memo:inputs"]  # type: ignore[no-any-return]


def _frame_digest(frame: pd.DataFrame) -> bytes:
    h = hashlib.blake2b(digest_size=16)
    h.update("|".join(f"{c}:{t}" for c, t in frame.dtypes.astype(str).items()).encode())
    try:
        h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    except TypeError:  # unhashable cells (lists, dicts): their text
        h.update(frame.to_csv(index=False).encode())
    return h.digest()


def _update_with(h: Any, value: Any) -> None:
    if isinstance(value, np.ndarray):
        h.update(f"{value.dtype}{value.shape}".encode())
        h.update(np.ascontiguousarray(value).tobytes())
    elif isinstance(value, dict):
        for k in sorted(value, key=str):
            h.update(f"[{k}]".encode())
            _update_with(h, value[k])
    else:
        h.update(repr(value).encode())


def _encode(findings: list[Finding]) -> bytes:
    blobs: list[bytes] = []
    records = []
    for finding in findings:
        record = finding.to_dict()
        record["metrics"] = finding.metrics  # raw, not made JSON-safe: NaN stays NaN
        record["evidence"] = None
        if finding.evidence is not None:
            buffer = io.BytesIO()
            finding.evidence.to_parquet(buffer, index=False)
            record["evidence"] = len(blobs)
            blobs.append(buffer.getvalue())
        records.append(record)
    head = json.dumps(records).encode()
    parts = [struct.pack("<I", len(head)), head]
    for blob in blobs:
        parts += [struct.pack("<Q", len(blob)), blob]
    return b"".join(parts)


def _decode(payload: bytes) -> list[Finding]:
    (length,) = struct.unpack_from("<I", payload, 0)
    records = json.loads(payload[4:4 + length])
    offset, blobs = 4 + length, []
    while offset < len(payload):
        (size,) = struct.unpack_from("<Q", payload, offset)
        blobs.append(pd.read_parquet(io.BytesIO(payload[offset + 8: offset + 8 + size])))
        offset += 8 + size
    findings = []
    for r in records:
        findings.append(Finding(
            code=r["code"], name=r["name"], severity=Severity(r["severity"]), title=r["title"],
            message=r["message"], splits=tuple(r["splits"]), metrics=r["metrics"],
            evidence=None if r["evidence"] is None else blobs[r["evidence"]], remediation=r["remediation"],
            scanner=r["scanner"], baselined=r["baselined"]))
    return findings
