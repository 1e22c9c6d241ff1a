"""Evidence file storage behind one interface: files are stored under their SHA-256 content
hash, never under a name a user chose, and outside any web root (only the API serves them,
to the parties of the case).

* :class:`LocalDirectory` (default): ``<root>/ab/cd/abcd…``, created on demand, each file
  written to a temporary file in the same directory, fsynced and renamed into place, so a
  reader never sees half a file.
* :class:`S3Blobs`: any S3-compatible object store through ``boto3`` (the optional extra
  ``pip install aftersales[s3]``), imported only when this backend is used. Tests pass a
  fake client.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from sqlalchemy.engine import make_url

from aftersales.settings import Settings

CHUNK = 1024 * 1024
_HASH = re.compile(r"^[0-9a-f]{64}$")


class BlobError(RuntimeError):
    """The storage backend failed or holds a file that does not match its hash."""


class BlobStore(Protocol):
    def exists(self, content_hash: str) -> bool: ...

    def put(self, content_hash: str, data: bytes | BinaryIO) -> None:
        """Store ``data`` under its hash (a no-op if it is already there)."""
        ...

    def get(self, content_hash: str) -> bytes: ...

    def chunks(self, content_hash: str) -> Iterator[bytes]: ...


def _check_hash(content_hash: str) -> str:
    if not _HASH.fullmatch(content_hash):
        raise ValueError(f"not a SHA-256 hex digest: {content_hash!r}")
    return content_hash


def _fanout(content_hash: str) -> str:
    h = _check_hash(content_hash)
    return f"{h[:2]}/{h[2:4]}/{h}"


def _read_all(data: bytes | BinaryIO) -> Iterator[bytes]:
    if isinstance(data, bytes | bytearray):
        yield bytes(data)
        return
    while chunk := data.read(CHUNK):
        yield chunk


class LocalDirectory:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path_of(self, content_hash: str) -> Path:
        return self.root / _fanout(content_hash)

    def exists(self, content_hash: str) -> bool:
        return self.path_of(content_hash).is_file()

    def put(self, content_hash: str, data: bytes | BinaryIO) -> None:
        target = self.path_of(content_hash)
        if target.is_file():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in _read_all(data):
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            if digest.hexdigest() != content_hash:
                raise BlobError(f"content does not match its hash {content_hash}")
            os.chmod(tmp, 0o640)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, content_hash: str) -> bytes:
        return self.path_of(content_hash).read_bytes()

    def chunks(self, content_hash: str) -> Iterator[bytes]:
        with self.path_of(content_hash).open("rb") as f:
            while chunk := f.read(CHUNK):
                yield chunk


def _missing(exc: Exception) -> bool:
    """botocore's ClientError for a missing key (duck-typed: botocore is optional)."""
    response = getattr(exc, "response", None)
    code = str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""
    return code in ("404", "NoSuchKey", "NotFound")


class S3Blobs:
    """An S3-compatible bucket; ``client`` is a boto3 S3 client (or a test double)."""

    def __init__(self, bucket: str, client: Any, prefix: str = "evidence/") -> None:
        self.bucket = bucket
        self.client = client
        self.prefix = prefix

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Blobs:
        if not settings.evidence_bucket:
            raise BlobError("AFTERSALES_EVIDENCE_BUCKET is required for s3 storage")
        try:
            import boto3  # type: ignore[import-not-found]  # optional: aftersales[s3]
        except ImportError as exc:  # pragma: no cover - depends on the installation
            raise BlobError("s3 evidence storage needs boto3: pip install aftersales[s3]") from exc
        client = boto3.client(
            "s3",
            endpoint_url=settings.evidence_endpoint_url,
            region_name=settings.evidence_region,
        )
        return cls(settings.evidence_bucket, client, settings.evidence_key_prefix)

    def key_of(self, content_hash: str) -> str:
        return self.prefix + _fanout(content_hash)

    def exists(self, content_hash: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self.key_of(content_hash))
        except Exception as exc:
            if _missing(exc):
                return False
            raise
        return True

    def put(self, content_hash: str, data: bytes | BinaryIO) -> None:
        if self.exists(content_hash):
            return
        key = self.key_of(content_hash)
        if not isinstance(data, bytes):
            # Streamed (boto3's managed multipart upload); the caller hashed it while
            # receiving it.
            self.client.upload_fileobj(
                data, self.bucket, key, ExtraArgs={"ContentType": "application/octet-stream"}
            )
            return
        if hashlib.sha256(data).hexdigest() != content_hash:
            raise BlobError(f"content does not match its hash {content_hash}")
        self.client.put_object(
            Bucket=self.bucket, Key=key, Body=data, ContentType="application/octet-stream"
        )

    def _body(self, content_hash: str) -> Any:
        return self.client.get_object(Bucket=self.bucket, Key=self.key_of(content_hash))["Body"]

    def get(self, content_hash: str) -> bytes:
        return bytes(self._body(content_hash).read())

    def chunks(self, content_hash: str) -> Iterator[bytes]:
        body = self._body(content_hash)
        while chunk := body.read(CHUNK):
            yield bytes(chunk)


def default_dir(settings: Settings) -> Path:
    """Beside a SQLite database file and named after it, as SQLite names its `-wal` file
    (`aftersales.db` -> `aftersales.db-evidence/`, which git ignores); `var/evidence`
    otherwise. An `evidence/` directory that earlier versions made beside the file stays in
    use while no `-evidence` directory exists, so no stored file goes missing."""
    if settings.evidence_dir is not None:
        return settings.evidence_dir
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        database = Path(str(url.database)).resolve()
        beside = database.parent / f"{database.name}-evidence"
        earlier = database.parent / "evidence"
        return earlier if earlier.is_dir() and not beside.exists() else beside
    return Path("var/evidence").resolve()


def from_settings(settings: Settings) -> BlobStore:
    if settings.evidence_storage == "s3":
        return S3Blobs.from_settings(settings)
    return LocalDirectory(default_dir(settings))
