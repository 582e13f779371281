"""Dynamic partitioning with keys from a Lambda (Firehose's partitionKeyFromLambda): the
handler returns metadata.partitionKeys per record, the prefix's
!{partitionKeyFromLambda:name} renders them (beside !{partitionKeyFromQuery:...} from inline
parsing, which reads only its own keys); a record whose key the Lambda did not return, or
whose partitionKeys are malformed, goes to the error prefix as partitioning-failed with its
data; nothing is lost. A prefix using partitionKeyFromLambda without a Lambda processor is
refused."""
import base64
import json

import pytest
from botocore.exceptions import ClientError

from test_delivery_direct import lake_objects, plain_lines, wait_for_lines
from test_delivery_lambda import write_function

HANDLER = '''
import base64, json

def lambda_handler(event, context):
    out = []
    for r in event["records"]:
        rec = json.loads(base64.b64decode(r["data"]))
        item = {"recordId": r["recordId"], "result": "Ok", "data": r["data"]}
        if rec.get("bad"):
            item["metadata"] = {"partitionKeys": ["not", "an", "object"]}
        elif "region" in rec:
            item["metadata"] = {"partitionKeys": {"region": rec["region"], "n": rec["n"] % 2}}
        out.append(item)
    return {"records": out}
'''
ROLE = "arn:aws:iam::000000000000:role/r"


def dest(prefix, processors):
    return {"RoleARN": ROLE, "BucketARN": "arn:aws:s3:::test-bucket", "Prefix": prefix,
            "ErrorOutputPrefix": "errors/!{firehose:error-output-type}/",
            "BufferingHints": {"SizeInMBs": 64, "IntervalInSeconds": 60},
            "DynamicPartitioningConfiguration": {"Enabled": True},
            "ProcessingConfiguration": {"Enabled": True, "Processors": processors}}


LAMBDA = {"Type": "Lambda", "Parameters": [
    {"ParameterName": "LambdaArn",
     "ParameterValue": "arn:aws:lambda:us-east-1:000000000000:function:keys"}]}


def test_partition_keys_from_lambda(make_server, data_dir):
    write_function(data_dir, "keys", HANDLER)
    server = make_server("buckets:\n  - name: test-bucket\n").start()
    fh = server.client("firehose")
    fh.create_delivery_stream(DeliveryStreamName="by-region", ExtendedS3DestinationConfiguration=dest(
        "region=!{partitionKeyFromLambda:region}/odd=!{partitionKeyFromLambda:n}/p=!{partitionKeyFromQuery:p}/",
        [LAMBDA, {"Type": "MetadataExtraction", "Parameters": [
            {"ParameterName": "MetadataExtractionQuery", "ParameterValue": "{p: .p}"},
            {"ParameterName": "JsonParsingEngine", "ParameterValue": "JQ-1.6"}]},
         {"Type": "AppendDelimiterToRecord", "Parameters": []}]))
    recs = [{"n": i, "region": ["eu", "us", "ap"][i % 3], "p": "x"} for i in range(12)]
    missing = [{"n": 100, "p": "x"}]                 # the Lambda returns no keys
    bad = [{"n": 101, "p": "x", "bad": True}]        # malformed partitionKeys
    fh.put_record_batch(DeliveryStreamName="by-region",
                        Records=[{"Data": json.dumps(r).encode()} for r in recs + missing + bad])
    assert server.stop() == 0  # the clean shutdown flushes the 60 s buffer
    lines = wait_for_lines(data_dir, "region=", len(recs), plain_lines, timeout=1)
    assert len(lines) == len(recs)
    for key, path in lake_objects(data_dir, "region=").items():
        region, odd, p = (part.split("=")[1] for part in key.split("/")[:3])
        assert p == "x"
        for l in plain_lines(path):
            r = json.loads(l)
            assert (r["region"], str(r["n"] % 2)) == (region, odd), (key, r)
    errors = [json.loads(l) for p in lake_objects(data_dir, "errors/").values() for l in plain_lines(p)]
    assert all(k.startswith("errors/partitioning-failed/") for k in lake_objects(data_dir, "errors/"))
    failed = sorted(json.loads(base64.b64decode(e["rawData"]))["n"] for e in errors)
    assert failed == [100, 101]
    by_n = {json.loads(base64.b64decode(e["rawData"]))["n"]: e for e in errors}
    assert "partitionKeyFromLambda:region" in by_n[100]["errorMessage"]
    assert by_n[101]["errorCode"] == "DynamicPartitioning.LambdaPartitionKeysInvalid"


def test_partition_key_from_lambda_needs_a_lambda(make_server):
    server = make_server("buckets:\n  - name: test-bucket\n").start()
    fh = server.client("firehose")
    with pytest.raises(ClientError) as ei:
        fh.create_delivery_stream(DeliveryStreamName="nolambda", ExtendedS3DestinationConfiguration=dest(
            "r=!{partitionKeyFromLambda:region}/", [{"Type": "MetadataExtraction", "Parameters": [
                {"ParameterName": "MetadataExtractionQuery", "ParameterValue": "{p: .p}"},
                {"ParameterName": "JsonParsingEngine", "ParameterValue": "JQ-1.6"}]}]))
    err = ei.value.response["Error"]
    assert err["Code"] == "InvalidArgumentException" and "partitionKeyFromLambda" in err["Message"]
    assert fh.list_delivery_streams()["DeliveryStreamNames"] == []
