"""A DVC remote on S3 (dvc-s3) against an S3-compatible server (moto's server mode) on 127.0.0.1.

The same round trip as over SSH, through the set-up lines the README gives for S3 (endpoint URL
and keys in `.dvc/config.local`), and a damaged object on the bucket caught on pull. One round
trip buys its corpus from a paid backend (a local server that counts what it is asked) and
checks that `dvc repro` in the pulling clone asks it for nothing, even when generation is forced.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import paid
import pytest
from servers import S3Server
from tinyrepo import CORPUS, OUTPUTS, SPEC, clone, digest, dvc, msm, outputs_digest, stages_run

pytestmark = pytest.mark.slow(seconds=120)
BUCKET = "msm-corpora"


def add_remote(repo: Path, s3: S3Server, secret: str = "") -> None:
    dvc(repo, "remote", "add", "--local", "-f", "s3", f"s3://{BUCKET}/store")
    dvc(repo, "remote", "modify", "--local", "s3", "endpointurl", s3.endpoint)
    dvc(repo, "remote", "modify", "--local", "s3", "access_key_id", s3.ACCESS_KEY)
    dvc(repo, "remote", "modify", "--local", "s3", "secret_access_key", secret or s3.SECRET_KEY)


@pytest.fixture(scope="module")
def pushed(built: Path, s3: S3Server) -> S3Server:
    s3.client().create_bucket(Bucket=BUCKET)
    add_remote(built, s3)
    msm(built, "remote", "push", "-r", "s3")
    return s3


def test_push_then_pull_into_a_clone_is_byte_identical_and_runs_nothing(
    built: Path, pushed: S3Server, tmp_path: Path
) -> None:
    keys = [o["Key"] for o in pushed.client().list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert all(k.startswith("store/files/md5/") for k in keys), keys[:3]
    other = clone(built, tmp_path / "other")
    add_remote(other, pushed)
    msm(other, "remote", "pull", "-r", "s3")
    assert outputs_digest(other) == outputs_digest(built)
    assert "up to date" in dvc(other, "status").stdout
    assert stages_run(dvc(other, "repro")) == set()


def test_a_bought_corpus_pulled_into_a_clone_buys_nothing_again(
    pushed: S3Server, paid_origin: Path, tmp_path: Path
) -> None:
    seller = paid.buyer(paid_origin, "s3-seller")
    with paid.paid_api("S3") as api:
        paid.buy(seller, api)
        spent = paid.bought(api)
        assert spent[0] > 0, "the corpus was not bought from the paid backend"
        add_remote(seller, pushed)
        msm(seller, "remote", "push", "-r", "s3")

        other = clone(seller, tmp_path / "other")
        add_remote(other, pushed)
        msm(other, "remote", "pull", "-r", "s3")
        assert outputs_digest(other) == outputs_digest(seller)
        assert stages_run(paid.dvc(other, "repro", url=api.url)) == set()
        assert paid.bought(api) == spent, "the pulling clone bought from the paid backend"
        # forced to generate again, it is answered by the generation cache that it pulled
        paid.dvc(other, "repro", "--force", "--single-item", f"generate@{SPEC}", url=api.url)
        assert paid.bought(api) == spent, "a forced regeneration bought from the paid backend"
        assert digest(other / CORPUS / "generate") == digest(seller / CORPUS / "generate")


def test_damaged_object_on_the_bucket_is_caught_on_pull(
    built: Path, pushed: S3Server, tmp_path: Path
) -> None:
    card = (built / CORPUS / "README.md").read_bytes()
    md5 = hashlib.md5(card, usedforsecurity=False).hexdigest()
    key = f"store/files/md5/{md5[:2]}/{md5[2:]}"
    client = pushed.client()
    client.put_object(Bucket=BUCKET, Key=key, Body=card + b"\nappended by someone\n")
    try:
        other = clone(built, tmp_path / "other")
        add_remote(other, pushed)
        done = msm(other, "remote", "pull", "-r", "s3", ok=False)
        assert done.returncode == 2, done.stderr
        assert f"s3://{BUCKET}/store/files/md5/{md5[:2]}/{md5[2:]} has md5" in done.stderr
        for out in OUTPUTS:
            assert not (other / out).exists(), f"{out} written by a failed pull"
    finally:
        client.put_object(Bucket=BUCKET, Key=key, Body=card)


def test_wrong_secret_is_refused_with_the_fix_and_nothing_written(
    built: Path, pushed: S3Server, tmp_path: Path
) -> None:
    other = clone(built, tmp_path / "other")
    add_remote(other, pushed, secret="not-the-secret")
    for action in ("pull", "push"):
        done = msm(other, "remote", action, "-r", "s3", ok=False)
        assert done.returncode == 2, done.stderr
        assert f"cannot list s3://{BUCKET}/store" in done.stderr
        assert "SignatureDoesNotMatch" in done.stderr or "Forbidden" in done.stderr, done.stderr
        assert "dvc remote modify --local s3" in done.stderr
    for out in OUTPUTS:
        assert not (other / out).exists(), f"{out} written by a refused pull"
