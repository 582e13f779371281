"""The lake through the S3 REST API: aws s3 and boto3 see the bucket directory as S3."""
import os

import pytest
from botocore.exceptions import ClientError

SEED_BUCKET = "kinesis-firehose-destination-yb"


def test_seed_bucket_is_listed(server):
    names = [b["Name"] for b in server.client("s3").list_buckets()["Buckets"]]
    assert SEED_BUCKET in names


def test_put_get_head_list_delete(server):
    s3 = server.client("s3")
    s3.put_object(Bucket=SEED_BUCKET, Key="2026/11/26/13/a.json", Body=b'{"a":1}\n')
    s3.put_object(Bucket=SEED_BUCKET, Key="2026/11/26/14/b.json", Body=b'{"b":2}\n')
    # the object is a plain file at its key
    path = os.path.join(server.data_dir, "lake", SEED_BUCKET, "2026/11/26/13/a.json")
    assert open(path, "rb").read() == b'{"a":1}\n'
    assert s3.get_object(Bucket=SEED_BUCKET, Key="2026/11/26/13/a.json")["Body"].read() == b'{"a":1}\n'
    assert s3.head_object(Bucket=SEED_BUCKET, Key="2026/11/26/14/b.json")["ContentLength"] == 8
    r = s3.get_object(Bucket=SEED_BUCKET, Key="2026/11/26/13/a.json", Range="bytes=1-4")
    assert r["Body"].read() == b'"a":'
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=SEED_BUCKET, Prefix="2026/")["Contents"]]
    assert keys == ["2026/11/26/13/a.json", "2026/11/26/14/b.json"]
    hours = s3.list_objects_v2(Bucket=SEED_BUCKET, Prefix="2026/11/26/", Delimiter="/")
    assert [p["Prefix"] for p in hours["CommonPrefixes"]] == ["2026/11/26/13/", "2026/11/26/14/"]
    s3.delete_object(Bucket=SEED_BUCKET, Key="2026/11/26/13/a.json")
    with pytest.raises(ClientError) as ei:
        s3.get_object(Bucket=SEED_BUCKET, Key="2026/11/26/13/a.json")
    assert ei.value.response["Error"]["Code"] == "NoSuchKey"


def test_pagination_with_continuation_token(server):
    s3 = server.client("s3")
    for i in range(7):
        s3.put_object(Bucket=SEED_BUCKET, Key=f"p/{i:02d}", Body=b"x")
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=SEED_BUCKET, Prefix="p/",
                                                         PaginationConfig={"PageSize": 3})
    keys = [o["Key"] for page in pages for o in page.get("Contents", [])]
    assert keys == [f"p/{i:02d}" for i in range(7)]


def test_keys_cannot_escape_the_bucket(server):
    s3 = server.client("s3")
    for bad in ("../outside", "a/../../outside", "./x", "a//b"):
        with pytest.raises(ClientError) as ei:
            s3.put_object(Bucket=SEED_BUCKET, Key=bad, Body=b"x")
        assert ei.value.response["Error"]["Code"] == "InvalidArgument"
    assert not os.path.exists(os.path.join(server.data_dir, "lake", "outside"))
    assert not os.path.exists(os.path.join(server.data_dir, "outside"))


def test_unknown_bucket(server):
    with pytest.raises(ClientError) as ei:
        server.client("s3").list_objects_v2(Bucket="no-such-bucket")
    assert ei.value.response["Error"]["Code"] == "NoSuchBucket"


def test_aws_cli_ls_and_cp(server, tmp_path):
    src = tmp_path / "hello.json"
    src.write_text('{"hello":"lake"}\n')
    server.aws("s3", "cp", str(src), f"s3://{SEED_BUCKET}/x/hello.json")
    _, out = server.aws("s3", "ls", f"s3://{SEED_BUCKET}/", "--recursive", check=False)
    assert out.returncode == 0 and b"x/hello.json" in out.stdout
    dst = tmp_path / "back.json"
    server.aws("s3", "cp", f"s3://{SEED_BUCKET}/x/hello.json", str(dst))
    assert dst.read_text() == '{"hello":"lake"}\n'


def test_max_keys_must_be_a_non_negative_integer(server):
    import urllib.error
    import urllib.request
    for bad in ("-5", "ten"):
        try:
            urllib.request.urlopen(f"{server.endpoint}/{SEED_BUCKET}?list-type=2&max-keys={bad}")
            raise AssertionError("accepted max-keys=" + bad)
        except urllib.error.HTTPError as e:
            assert e.code == 400 and b"<Code>InvalidArgument</Code>" in e.read()
    s3 = server.client("s3")
    s3.put_object(Bucket=SEED_BUCKET, Key="k/1", Body=b"x")
    assert s3.list_objects_v2(Bucket=SEED_BUCKET, MaxKeys=0)["KeyCount"] == 0
