"""Firehose's management surface as AWS answers it, with boto3 and the aws cli:
- VersionId starts at "1" and goes up by one with every UpdateDestination; a stale version is
  refused with ConcurrentModificationException; LastUpdateTimestamp appears after an update;
  DeliveryStreamEncryptionConfiguration reads DISABLED; all of it survives a restart.
- TagDeliveryStream / UntagDeliveryStream / ListTagsForDeliveryStream (and CreateDeliveryStream's
  Tags), paged with ExclusiveStartTagKey/HasMoreTags, tags of a configured stream included,
  kept across a restart; hostile keys and values and more than 50 tags are refused and change
  nothing.
- Start/StopDeliveryStreamEncryption are refused plainly (InvalidArgumentException), a
  missing stream first with ResourceNotFoundException."""
import http.client
import json

import pytest
from botocore.exceptions import ClientError

CONFIG = """buckets:
  - name: test-bucket
delivery_streams:
  - name: cfg
    bucket: test-bucket
"""
EXT = {"RoleARN": "arn:aws:iam::000000000000:role/r", "BucketARN": "arn:aws:s3:::test-bucket"}


def code_of(fn, **kw):
    with pytest.raises(ClientError) as ei:
        fn(**kw)
    return ei.value.response["Error"]["Code"], ei.value.response["Error"]["Message"]


def raw(server, op, body):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request("POST", "/", body=json.dumps(body).encode(), headers={
        "X-Amz-Target": f"Firehose_20150804.{op}", "Content-Type": "application/x-amz-json-1.1"})
    resp = conn.getresponse()
    out = json.loads(resp.read())
    conn.close()
    return resp.status, out


def describe(fh, name):
    return fh.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]


def test_version_tags_and_encryption(make_server):
    s = make_server(CONFIG).start()
    fh = s.client("firehose")
    fh.create_delivery_stream(DeliveryStreamName="v", ExtendedS3DestinationConfiguration=EXT,
                              Tags=[{"Key": "team", "Value": "sales"}, {"Key": "env", "Value": ""}])
    d = describe(fh, "v")
    assert d["VersionId"] == "1" and "LastUpdateTimestamp" not in d
    assert d["DeliveryStreamEncryptionConfiguration"]["Status"] == "DISABLED"
    dest = d["Destinations"][0]["DestinationId"]
    for i in range(2):
        fh.update_destination(DeliveryStreamName="v", CurrentDeliveryStreamVersionId=str(i + 1),
                              DestinationId=dest, ExtendedS3DestinationUpdate={"Prefix": f"p{i}/"})
    d = describe(fh, "v")
    assert d["VersionId"] == "3" and "LastUpdateTimestamp" in d
    code, msg = code_of(fh.update_destination, DeliveryStreamName="v",
                        CurrentDeliveryStreamVersionId="1", DestinationId=dest,
                        ExtendedS3DestinationUpdate={"Prefix": "x/"})
    assert code == "ConcurrentModificationException" and "3" in msg

    # tags
    assert fh.list_tags_for_delivery_stream(DeliveryStreamName="v")["Tags"] == [
        {"Key": "env", "Value": ""}, {"Key": "team", "Value": "sales"}]
    fh.tag_delivery_stream(DeliveryStreamName="v", Tags=[{"Key": "team", "Value": "ops"},
                                                         {"Key": "a b_c.d:e/f=g+h-i@j%k", "Value": "ok"}])
    page = fh.list_tags_for_delivery_stream(DeliveryStreamName="v", Limit=2)
    assert [t["Key"] for t in page["Tags"]] == ["a b_c.d:e/f=g+h-i@j%k", "env"] and page["HasMoreTags"]
    rest = fh.list_tags_for_delivery_stream(DeliveryStreamName="v", ExclusiveStartTagKey="env")
    assert rest == {"Tags": [{"Key": "team", "Value": "ops"}], "HasMoreTags": False,
                    "ResponseMetadata": rest["ResponseMetadata"]}
    s.aws("firehose", "untag-delivery-stream", "--delivery-stream-name", "v", "--tag-keys", "env")
    out = s.aws("firehose", "list-tags-for-delivery-stream", "--delivery-stream-name", "v")
    assert [t["Key"] for t in out["Tags"]] == ["a b_c.d:e/f=g+h-i@j%k", "team"]
    # a configured stream can be tagged too
    fh.tag_delivery_stream(DeliveryStreamName="cfg", Tags=[{"Key": "k", "Value": "v"}])
    # hostile tags change nothing
    for tags in ([{"Key": "aws:x", "Value": "v"}], [{"Key": "k\u0001", "Value": "v"}],
                 [{"Key": "k", "Value": "v;rm"}], [{"Key": "../k", "Value": "<v>"}]):
        code, _ = code_of(fh.tag_delivery_stream, DeliveryStreamName="v", Tags=tags)
        assert code == "InvalidArgumentException", tags
    # past botocore's own length checks, raw
    for body in ({"DeliveryStreamName": "v", "Tags": [{"Key": "", "Value": "v"}]},
                 {"DeliveryStreamName": "v", "Tags": [{"Key": "k" * 129, "Value": "v"}]},
                 {"DeliveryStreamName": "v", "Tags": [{"Key": "k", "Value": "v" * 257}]},
                 {"DeliveryStreamName": "v", "Tags": []},
                 {"DeliveryStreamName": "v", "Tags": [7]},
                 {"DeliveryStreamName": "v", "Tags": {"Key": "k"}}):
        status, err = raw(s, "TagDeliveryStream", body)
        assert status == 400 and err["__type"] in ("InvalidArgumentException", "SerializationException"), (body, err)
    status, err = raw(s, "UntagDeliveryStream", {"DeliveryStreamName": "v", "TagKeys": ["aws:x"]})
    assert status == 400 and err["__type"] == "InvalidArgumentException"
    code, _ = code_of(fh.tag_delivery_stream, DeliveryStreamName="v",
                      Tags=[{"Key": f"k{i}", "Value": ""} for i in range(49)])
    assert code == "LimitExceededException"
    assert len(fh.list_tags_for_delivery_stream(DeliveryStreamName="v")["Tags"]) == 2
    code, _ = code_of(fh.tag_delivery_stream, DeliveryStreamName="nope", Tags=[{"Key": "k", "Value": "v"}])
    assert code == "ResourceNotFoundException"

    # encryption is refused plainly
    code, msg = code_of(fh.start_delivery_stream_encryption, DeliveryStreamName="v")
    assert code == "InvalidArgumentException" and "encryption" in msg
    code, _ = code_of(fh.stop_delivery_stream_encryption, DeliveryStreamName="v")
    assert code == "InvalidArgumentException"
    code, _ = code_of(fh.start_delivery_stream_encryption, DeliveryStreamName="nope")
    assert code == "ResourceNotFoundException"

    assert s.stop() == 0
    s.start()
    fh = s.client("firehose")
    assert describe(fh, "v")["VersionId"] == "3"
    assert [t["Key"] for t in fh.list_tags_for_delivery_stream(DeliveryStreamName="v")["Tags"]] == [
        "a b_c.d:e/f=g+h-i@j%k", "team"]
    assert fh.list_tags_for_delivery_stream(DeliveryStreamName="cfg")["Tags"] == [{"Key": "k", "Value": "v"}]
    # a deleted and re-created stream starts without tags and at version 1
    fh.delete_delivery_stream(DeliveryStreamName="v")
    fh.create_delivery_stream(DeliveryStreamName="v", ExtendedS3DestinationConfiguration=EXT)
    assert fh.list_tags_for_delivery_stream(DeliveryStreamName="v")["Tags"] == []
    assert describe(fh, "v")["VersionId"] == "1"
