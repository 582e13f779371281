"""Dynamic partitioning: jq queries (MetadataExtraction) pick the partition key, the prefix's
!{partitionKeyFromQuery:...} and !{timestamp:...} render per object, records whose key cannot
be extracted land under the error prefix with their data, nothing lost."""
import base64
import json
import os
import time

from test_delivery_direct import lake_objects, plain_lines, wait_for_lines

CONFIG = """
buckets:
  - name: test-bucket
delivery_streams:
  - name: by-product
    bucket: test-bucket
    prefix: "product=!{partitionKeyFromQuery:product}/year=!{timestamp:yyyy}/"
    error_output_prefix: "errors/!{firehose:error-output-type}/"
    buffer_interval_seconds: 1
    append_delimiter: true
    processors:
      - type: jq
        program: "select(.drop != true)"
    dynamic_partitioning:
      queries:
        product: .product_name
"""

PRODUCTS = ["Laptop", "Phone", "Tablet", "Headphones", "Charger"]


def test_jq_dynamic_partitioning_by_product_name(make_server, data_dir):
    server = make_server(CONFIG).start()
    fh = server.client("firehose")
    recs = [{"orderid": str(i), "product_name": PRODUCTS[i % 5], "quantity": i % 5 + 1}
            for i in range(100)]
    extra = [{"orderid": "nokey"}, {"orderid": "dropme", "product_name": "Laptop", "drop": True}]
    fh.put_record_batch(DeliveryStreamName="by-product",
                        Records=[{"Data": json.dumps(r).encode()} for r in recs + extra])
    year = time.gmtime().tm_year
    lines = wait_for_lines(data_dir, "product=", 100, plain_lines)
    assert len(lines) == 100
    objs = lake_objects(data_dir, "product=")
    seen = {}
    for key, path in objs.items():
        part = key.split("/")[0].split("=")[1]
        assert key.split("/")[1] == f"year={year}"
        assert os.path.basename(key).startswith("by-product-1-")
        for l in plain_lines(path):
            r = json.loads(l)
            assert r["product_name"] == part
            seen[r["orderid"]] = part
    assert seen == {r["orderid"]: r["product_name"] for r in recs}

    errors = wait_for_lines(data_dir, "errors/", 1, plain_lines)
    assert len(errors) == 1
    err = json.loads(errors[0])
    assert json.loads(base64.b64decode(err["rawData"])) == {"orderid": "nokey"}
    assert err["errorCode"] and err["errorMessage"] and err["attemptsMade"] >= 1
    assert isinstance(err["arrivalTimestamp"], int)
    assert all(k.startswith("errors/partitioning-failed/") for k in lake_objects(data_dir, "errors/"))
    # The dropped record is nowhere.
    everything = "".join(open(p).read() for p in lake_objects(data_dir).values())
    assert "dropme" not in everything
    assert server.stop() == 0


def test_metadata_extraction_through_the_api(make_server, data_dir):
    server = make_server("buckets:\n  - name: test-bucket\n").start()
    fh = server.client("firehose")
    fh.create_delivery_stream(
        DeliveryStreamName="api-partitioned",
        ExtendedS3DestinationConfiguration={
            "RoleARN": "arn:aws:iam::1:role/r", "BucketARN": "arn:aws:s3:::test-bucket",
            "Prefix": "p=!{partitionKeyFromQuery:p}/",
            "ErrorOutputPrefix": "failed/!{firehose:error-output-type}/!{timestamp:yyyy/MM}/",
            "BufferingHints": {"SizeInMBs": 64, "IntervalInSeconds": 60},
            "DynamicPartitioningConfiguration": {"Enabled": True},
            "ProcessingConfiguration": {"Enabled": True, "Processors": [
                {"Type": "MetadataExtraction", "Parameters": [
                    {"ParameterName": "MetadataExtractionQuery", "ParameterValue": "{p: .p}"},
                    {"ParameterName": "JsonParsingEngine", "ParameterValue": "JQ-1.6"}]},
                {"Type": "AppendDelimiterToRecord", "Parameters": []}]}})
    fh.put_record_batch(DeliveryStreamName="api-partitioned",
                        Records=[{"Data": json.dumps({"p": p, "i": i}).encode()}
                                 for i, p in enumerate("abcab")])
    # The botocore model's minimum interval is 60 s: the clean shutdown flushes the buffer.
    assert server.stop() == 0
    lines = wait_for_lines(data_dir, "p=", 5, plain_lines, timeout=1)
    assert len(lines) == 5
    parts = {k.split("/")[0] for k in lake_objects(data_dir, "p=")}
    assert parts == {"p=a", "p=b", "p=c"}
