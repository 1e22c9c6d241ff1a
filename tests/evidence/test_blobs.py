"""Evidence storage: the local directory for real, S3 through a fake client."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import pytest

from aftersales.settings import Settings
from aftersales.store.blobs import BlobError, LocalDirectory, S3Blobs, default_dir, from_settings

DATA = b"evidence bytes" * 1000
HASH = hashlib.sha256(DATA).hexdigest()


def test_local_directory_stores_under_the_content_hash_with_fan_out(tmp_path: Path) -> None:
    store = LocalDirectory(tmp_path / "evidence")
    assert not store.exists(HASH)
    store.put(HASH, io.BytesIO(DATA))
    path = tmp_path / "evidence" / HASH[:2] / HASH[2:4] / HASH
    assert path.read_bytes() == DATA
    assert store.exists(HASH) and store.get(HASH) == DATA
    assert b"".join(store.chunks(HASH)) == DATA
    store.put(HASH, DATA)  # already there: a no-op
    assert [p.name for p in path.parent.iterdir()] == [HASH]  # no temporary file left


def test_local_directory_refuses_content_that_does_not_match_its_hash(tmp_path: Path) -> None:
    store = LocalDirectory(tmp_path)
    with pytest.raises(BlobError):
        store.put(HASH, b"something else")
    assert not store.exists(HASH)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


@pytest.mark.parametrize("bad", ["../../etc/passwd", "ab" * 31, HASH.upper(), ""])
def test_a_name_that_is_not_a_hash_never_reaches_the_file_system(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ValueError):
        LocalDirectory(tmp_path).put(bad, DATA)


def test_default_directory_is_beside_the_sqlite_file_or_under_var(tmp_path: Path) -> None:
    db = tmp_path / "data" / "aftersales.db"
    beside = db.parent / "aftersales.db-evidence"
    assert default_dir(Settings(database_url=f"sqlite:///{db}")) == beside
    # The `evidence/` an earlier version made there stays in use until the new one exists.
    (db.parent / "evidence").mkdir(parents=True)
    assert default_dir(Settings(database_url=f"sqlite:///{db}")) == db.parent / "evidence"
    beside.mkdir()
    assert default_dir(Settings(database_url=f"sqlite:///{db}")) == beside
    pg = Settings(database_url="postgresql://u@h/db")
    assert default_dir(pg) == Path("var/evidence").resolve()
    assert default_dir(Settings(evidence_dir=tmp_path / "x")) == tmp_path / "x"
    assert isinstance(from_settings(Settings(evidence_dir=tmp_path)), LocalDirectory)


class _NotFound(Exception):
    response = {"Error": {"Code": "404"}}  # noqa: RUF012 - what botocore's ClientError carries


class FakeS3:
    """The few calls of boto3's S3 client the backend uses, in memory."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], bytes] = {}
        self.calls: list[str] = []

    def head_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:
        self.calls.append("head_object")
        if (Bucket, Key) not in self.objects:
            raise _NotFound
        return {"ContentLength": len(self.objects[Bucket, Key])}

    def put_object(self, *, Bucket: str, Key: str, Body: bytes, ContentType: str) -> None:
        self.calls.append("put_object")
        self.objects[Bucket, Key] = Body

    def upload_fileobj(self, f: Any, bucket: str, key: str, ExtraArgs: Any = None) -> None:
        self.calls.append("upload_fileobj")
        self.objects[bucket, key] = f.read()

    def get_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:
        self.calls.append("get_object")
        return {"Body": io.BytesIO(self.objects[Bucket, Key])}


def test_s3_backend_stores_under_the_hash_key_in_its_bucket() -> None:
    fake = FakeS3()
    store = S3Blobs("proofs", fake, prefix="ev/")
    assert not store.exists(HASH)
    store.put(HASH, io.BytesIO(DATA))
    assert fake.objects == {("proofs", f"ev/{HASH[:2]}/{HASH[2:4]}/{HASH}"): DATA}
    assert store.exists(HASH)
    assert store.get(HASH) == DATA
    assert b"".join(store.chunks(HASH)) == DATA
    store.put(HASH, DATA)  # already there
    assert fake.calls.count("upload_fileobj") + fake.calls.count("put_object") == 1


def test_s3_backend_checks_bytes_against_their_hash_and_passes_other_errors_on() -> None:
    fake = FakeS3()
    with pytest.raises(BlobError):
        S3Blobs("b", fake).put(HASH, b"not it")
    assert fake.objects == {}

    class Broken(FakeS3):
        def head_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:
            raise RuntimeError("access denied")

    with pytest.raises(RuntimeError):
        S3Blobs("b", Broken()).exists(HASH)


def test_s3_storage_needs_a_bucket() -> None:
    with pytest.raises(BlobError):
        from_settings(Settings(evidence_storage="s3"))


def test_hardening_default_evidence_directory_of_the_checkout_is_ignored_by_git(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`make run`'s defaults (SQLite `aftersales.db` in the checkout root) put evidence
    where git ignores it; so is an `evidence/` left there by an earlier version."""
    import shutil
    import subprocess

    root = Path(__file__).resolve().parents[2]
    if shutil.which("git") is None or not (root / ".git").exists():
        pytest.skip("not a git checkout")
    monkeypatch.chdir(root)
    default_url = Settings.model_fields["database_url"].default
    evidence = default_dir(Settings(database_url=default_url, evidence_dir=None))
    for path in (evidence / "ab" / "cd" / "abcd", root / "evidence" / "x"):
        assert path.is_relative_to(root)
        res = subprocess.run(["git", "check-ignore", "-q", str(path)], cwd=root, check=False)
        assert res.returncode == 0, f"{path} is not ignored by git"
