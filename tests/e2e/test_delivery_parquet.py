"""Firehose record format conversion to Parquet (issue 16): a DataFormatConversionConfiguration
given through boto3 CreateDeliveryStream, through the aws cli and through the configuration
file's `format: parquet`; records are converted after the processors with the Glue table's
columns as the schema (OpenX options: case folding, dots to underscores, column-to-key
mappings; Hive's TimestampFormats), objects end in .parquet, a record that does not fit goes
alone to format-conversion-failed/ with its error, ORC and a compressed container are
refused, the 64 MiB buffer rule is reported, and SIGKILL mid-delivery keeps every record
exactly once. Objects are read back with salespipe's own reader (which the oracle tests hold
to DuckDB and hyparquet)."""
import base64
import collections
import json
import os
import subprocess
import threading
import time

import boto3
import botocore.config
import botocore.exceptions
import pytest

from conftest import SOURCE
from test_delivery_direct import lake_objects
from test_delivery_kinesis import stream_record

TOOL = os.environ.get("SALESPIPE_PARQUET_TOOL", os.path.join(SOURCE, "build", "sp_parquet_tool"))
BUCKET_ARN = "arn:aws:s3:::test-bucket"
ROLE = "arn:aws:iam::000000000000:role/firehose"

CONFIG = """
buckets:
  - name: test-bucket
"""


def read_parquet(path):
    if not os.path.exists(TOOL):
        pytest.skip(f"{TOOL} not built")
    p = subprocess.run([TOOL, "read", path], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    return json.loads(lines[0])["columns"], [json.loads(x) for x in lines[1:]]


def firehose(server):
    """A Firehose client that lets a 1-second interval through (boto3 checks the model's
    60-second minimum on the client side; the aws cli and salespipe do not)."""
    return boto3.client("firehose", endpoint_url=server.endpoint, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test",
                        config=botocore.config.Config(parameter_validation=False,
                                                      retries={"max_attempts": 1}))


def make_schema_table(server, db, table, columns):
    glue = server.client("glue")
    try:
        glue.create_database(DatabaseInput={"Name": db})
    except glue.exceptions.AlreadyExistsException:
        pass
    glue.create_table(DatabaseName=db, TableInput={
        "Name": table, "StorageDescriptor": {
            "Columns": [{"Name": n, "Type": t} for n, t in columns]}})


def conversion(db, table, deserializer=None, **parquet):
    return {"Enabled": True,
            "SchemaConfiguration": {"DatabaseName": db, "TableName": table, "RoleARN": ROLE},
            "InputFormatConfiguration": {"Deserializer": deserializer or {"OpenXJsonSerDe": {}}},
            "OutputFormatConfiguration": {"Serializer": {"ParquetSerDe": parquet}}}


def create(fh, name, dfcc, prefix="", error_prefix="", size=1):
    dest = {"RoleARN": ROLE, "BucketARN": BUCKET_ARN,
            "BufferingHints": {"SizeInMBs": size, "IntervalInSeconds": 1},
            "DataFormatConversionConfiguration": dfcc}
    if prefix:
        dest["Prefix"] = prefix
    if error_prefix:
        dest["ErrorOutputPrefix"] = error_prefix
    return fh.create_delivery_stream(DeliveryStreamName=name, DeliveryStreamType="DirectPut",
                                     ExtendedS3DestinationConfiguration=dest)


def wait_objects(data_dir, prefix, suffix, rows_wanted, timeout=20):
    deadline = time.time() + timeout
    rows, keys = [], []
    while time.time() < deadline:
        keys = sorted(k for k in lake_objects(data_dir, prefix) if k.endswith(suffix))
        rows = []
        for k in keys:
            rows += read_parquet(lake_objects(data_dir, prefix)[k])[1]
        if len(rows) >= rows_wanted:
            return keys, rows
        time.sleep(0.2)
    return keys, rows


def error_lines(data_dir, prefix):
    out = []
    for key, path in lake_objects(data_dir, prefix).items():
        out += [json.loads(l) for l in open(path) if l.strip()]
    return out


def test_boto3_stream_converts_to_parquet_and_fails_misfits_alone(make_server, data_dir):
    server = make_server(CONFIG).start()
    make_schema_table(server, "shop", "orders", [
        ("orderid", "string"), ("qty", "int"), ("price", "decimal(10,2)"), ("ok", "boolean"),
        ("day", "date"), ("at", "timestamp"), ("a_b", "string"), ("ts", "bigint"),
        ("tags", "array<string>"), ("dims", "struct<w:double,h:double>")])
    fh = firehose(server)
    dfcc = conversion("shop", "orders", {"OpenXJsonSerDe": {
        "CaseInsensitive": True, "ConvertDotsInJsonKeysToUnderscores": True,
        "ColumnToJsonKeyMappings": {"ts": "timestamp"}}},
        Compression="ZSTD", EnableDictionaryCompression=True, WriterVersion="V2",
        PageSizeBytes=65536, BlockSizeBytes=67108864, MaxPaddingBytes=0)
    create(fh, "pq", dfcc, prefix="data/", error_prefix="errors/!{firehose:error-output-type}/")
    desc = fh.describe_delivery_stream(DeliveryStreamName="pq")["DeliveryStreamDescription"]
    got = desc["Destinations"][0]["ExtendedS3DestinationDescription"]
    assert got["DataFormatConversionConfiguration"]["OutputFormatConfiguration"] == \
        dfcc["OutputFormatConfiguration"]
    good = [{"OrderId": str(i), "QTY": i, "price": "12.5", "ok": i % 2 == 0,
             "day": "2024-05-01", "at": "2024-05-01T10:00:00.250Z", "a.b": "dots",
             "timestamp": 1700000000 + i, "tags": ["x", str(i)], "dims": {"W": 1.5, "h": i}}
            for i in range(40)]
    bad = [b'{"OrderId": "bad", "QTY": "not a number"}', b"not json at all",
           b'[1, 2, 3]']
    records = [{"Data": json.dumps(r).encode()} for r in good[:20]] + \
              [{"Data": b} for b in bad] + [{"Data": json.dumps(r).encode()} for r in good[20:]]
    assert fh.put_record_batch(DeliveryStreamName="pq", Records=records)["FailedPutCount"] == 0
    keys, rows = wait_objects(data_dir, "data/", ".parquet", 40)
    assert keys and all(k.endswith(".parquet") for k in keys)
    assert len(rows) == 40
    cols, _ = read_parquet(lake_objects(data_dir, "data/")[keys[0]])
    assert [c[0] for c in cols] == ["orderid", "qty", "price", "ok", "day", "at", "a_b", "ts",
                                    "tags", "dims"]
    by_id = {r["orderid"]: r for r in rows}
    r = by_id["7"]
    assert r["qty"] == 7 and r["price"] == "12.50" and r["ok"] is False
    assert r["day"] == "2024-05-01" and r["at"] == "2024-05-01 10:00:00.250"
    assert r["a_b"] == "dots" and r["ts"] == 1700000007
    assert r["tags"] == ["x", "7"] and r["dims"] == {"w": 1.5, "h": 7.0}
    # the misfits, alone, in the error output with their errors and raw data
    deadline = time.time() + 10
    errs = []
    while time.time() < deadline and len(errs) < 3:
        errs = error_lines(data_dir, "errors/format-conversion-failed/")
        time.sleep(0.2)
    assert len(errs) == 3
    raws = sorted(base64.b64decode(x["rawData"]) for x in errs)
    assert raws == sorted(bad)
    for x in errs:
        assert x["errorCode"].startswith("DataFormatConversion.")
        assert x["errorMessage"]
    qty_err = [x for x in errs if b"QTY" in base64.b64decode(x["rawData"])][0]
    assert "qty" in qty_err["errorMessage"]
    health = server.health()["services"]["firehose"]["delivery_streams"]["pq"]
    assert health["records_out"] == 40 and health["records_failed"] == 3
    assert health["format"] == "parquet"
    assert "64" in health["warning"]  # Firehose's 64 MiB minimum with conversion, reported


def test_missing_schema_table_fails_records_into_error_output(make_server, data_dir):
    server = make_server(CONFIG).start()
    fh = firehose(server)
    create(fh, "noschema", conversion("nodb", "notable"), size=64)
    fh.put_record(DeliveryStreamName="noschema", Record={"Data": b'{"a": 1}'})
    deadline = time.time() + 10
    errs = []
    while time.time() < deadline and not errs:
        errs = error_lines(data_dir, "format-conversion-failed/")
        time.sleep(0.2)
    assert len(errs) == 1 and errs[0]["errorCode"] == "DataFormatConversion.InvalidSchema"
    assert "nodb.notable" in errs[0]["errorMessage"]
    health = server.health()["services"]["firehose"]["delivery_streams"]["noschema"]
    assert "warning" not in health  # 64 MiB: nothing to report


@pytest.mark.parametrize("dfcc,needle", [
    ({"Enabled": True, "SchemaConfiguration": {"DatabaseName": "d", "TableName": "t"},
      "InputFormatConfiguration": {"Deserializer": {"OpenXJsonSerDe": {}}},
      "OutputFormatConfiguration": {"Serializer": {"OrcSerDe": {}}}}, "ParquetSerDe"),
    ({"Enabled": True, "SchemaConfiguration": {"DatabaseName": "d", "TableName": "t"},
      "InputFormatConfiguration": {"Deserializer": {"OpenXJsonSerDe": {}, "HiveJsonSerDe": {}}},
      "OutputFormatConfiguration": {"Serializer": {"ParquetSerDe": {}}}}, "not both"),
    ({"Enabled": True, "SchemaConfiguration": {"DatabaseName": "d"},
      "InputFormatConfiguration": {"Deserializer": {"OpenXJsonSerDe": {}}},
      "OutputFormatConfiguration": {"Serializer": {"ParquetSerDe": {}}}}, "TableName"),
    ({"Enabled": True, "SchemaConfiguration": {"DatabaseName": "d", "TableName": "t"},
      "InputFormatConfiguration": {"Deserializer": {"OpenXJsonSerDe": {}}},
      "OutputFormatConfiguration": {"Serializer": {"ParquetSerDe": {"Compression": "LZO"}}}},
     "Compression"),
    ({"Enabled": True, "SchemaConfiguration": {"DatabaseName": "d", "TableName": "t"},
      "InputFormatConfiguration": {"Deserializer": {"OpenXJsonSerDe": {}}},
      "OutputFormatConfiguration": {"Serializer": {"ParquetSerDe": {"WriterVersion": "V3"}}}},
     "WriterVersion"),
])
def test_bad_conversion_configurations_are_refused(make_server, dfcc, needle):
    server = make_server(CONFIG).start()
    fh = firehose(server)
    with pytest.raises(botocore.exceptions.ClientError) as ex:
        create(fh, "bad", dfcc)
    assert ex.value.response["Error"]["Code"] == "InvalidArgumentException"
    assert needle in ex.value.response["Error"]["Message"]
    assert fh.list_delivery_streams()["DeliveryStreamNames"] == []


def test_compressed_container_with_conversion_is_refused(make_server):
    server = make_server(CONFIG).start()
    fh = firehose(server)
    with pytest.raises(botocore.exceptions.ClientError) as ex:
        fh.create_delivery_stream(
            DeliveryStreamName="gz", ExtendedS3DestinationConfiguration={
                "RoleARN": ROLE, "BucketARN": BUCKET_ARN, "CompressionFormat": "GZIP",
                "DataFormatConversionConfiguration": conversion("d", "t")})
    assert "UNCOMPRESSED" in ex.value.response["Error"]["Message"]


def test_aws_cli_hive_serde_with_timestamp_formats(make_server, data_dir):
    server = make_server(CONFIG).start()
    make_schema_table(server, "shop", "events", [("id", "int"), ("at", "timestamp")])
    dest = {"RoleARN": ROLE, "BucketARN": BUCKET_ARN, "Prefix": "hive/",
            "ErrorOutputPrefix": "hive-errors/!{firehose:error-output-type}/",
            "BufferingHints": {"SizeInMBs": 64, "IntervalInSeconds": 1},
            "DataFormatConversionConfiguration": conversion(
                "shop", "events", {"HiveJsonSerDe": {
                    "TimestampFormats": ["dd/MM/yyyy HH:mm:ss", "millis"]}},
                Compression="GZIP")}
    server.aws("firehose", "create-delivery-stream", "--delivery-stream-name", "hive",
               "--extended-s3-destination-configuration", json.dumps(dest))
    recs = [{"ID": 1, "at": "02/03/2024 04:05:06"}, {"id": 2, "at": 1700000000123},
            {"id": 3, "at": "yesterday"}]
    for r in recs:
        # aws cli v1 sends a blob given as text as those bytes
        server.aws("firehose", "put-record", "--delivery-stream-name", "hive", "--record",
                   json.dumps({"Data": json.dumps(r)}))
    keys, rows = wait_objects(data_dir, "hive/", ".parquet", 2)
    assert sorted(rows, key=lambda r: r["id"]) == [
        {"id": 1, "at": "2024-03-02 04:05:06.000"}, {"id": 2, "at": "2023-11-14 22:13:20.123"}]
    deadline = time.time() + 10
    errs = []
    while time.time() < deadline and not errs:
        errs = error_lines(data_dir, "hive-errors/format-conversion-failed/")
        time.sleep(0.2)
    assert len(errs) == 1 and b"yesterday" in base64.b64decode(errs[0]["rawData"])


SEED_PARQUET = """
defaults: seed
delivery_streams:
  - name: sales-delivery-stream
    source_stream: kinesis-for-sales-data
    bucket: kinesis-firehose-destination-yb
    buffer_interval_seconds: 1
    processors:
      - type: dynamodb-cdc
    format: parquet
"""


def test_config_format_parquet_switches_the_seed_stream(make_server, data_dir):
    server = make_server(SEED_PARQUET).start()
    kin = server.client("kinesis")
    recs = [stream_record(["INSERT", "MODIFY", "REMOVE"][i % 3], str(1000 + i), "Laptop",
                          i % 5 + 1, "123.45", f"{i + 1:021d}", 1700000000 + i)
            for i in range(30)]
    kin.put_records(StreamName="kinesis-for-sales-data",
                    Records=[{"Data": json.dumps(x).encode(), "PartitionKey": str(i)}
                             for i, x in enumerate(recs)])
    root = os.path.join(data_dir, "lake", "kinesis-firehose-destination-yb")
    deadline = time.time() + 20
    rows = []
    while time.time() < deadline and len(rows) < 30:
        rows = []
        for dirpath, _, files in os.walk(root):
            for f in files:
                if f.endswith(".parquet"):
                    rows += read_parquet(os.path.join(dirpath, f))[1]
        time.sleep(0.2)
    assert len(rows) == 30
    row = {r["sequence_number"]: r for r in rows}[f"{5:021d}"]
    assert row == {"orderid": "1004", "product_name": "Laptop", "quantity": 5,
                   "price": 123.45, "cdc_event_type": "MODIFY",
                   "creation_datetime": "2023-11-14T22:13:24Z",
                   "sequence_number": f"{5:021d}"}
    # the schema table the switch made from the dynamodb-cdc columns
    t = server.client("glue").get_table(DatabaseName="sales_db",
                                        Name="sales_delivery_stream_schema")["Table"]
    assert [c["Name"] for c in t["StorageDescriptor"]["Columns"]][:2] == ["orderid",
                                                                           "product_name"]


CRASH = """
buckets:
  - name: test-bucket
"""


def test_sigkill_during_parquet_delivery_keeps_every_record_exactly_once(make_server,
                                                                         data_dir):
    acked, unsure = set(), set()
    start = 0
    for round_ in range(2):
        server = make_server(CRASH).start()
        fh = firehose(server)
        if round_ == 0:
            make_schema_table(server, "crash", "ids", [("id", "bigint"), ("pad", "string")])
            create(fh, "crashy", conversion("crash", "ids"))
            fh.update_destination  # (UpdateDestination keeps the conversion; not exercised)
        stop = threading.Event()

        def produce(i=start):
            while not stop.is_set():
                batch = [{"Data": json.dumps({"id": i + k, "pad": "x" * 50}).encode()}
                         for k in range(20)]
                try:
                    fh.put_record_batch(DeliveryStreamName="crashy", Records=batch)
                    acked.update(range(i, i + 20))
                except Exception:
                    unsure.update(range(i, i + 20))
                    return
                i += 20
        t = threading.Thread(target=produce)
        t.start()
        time.sleep(1.5 + 0.3 * round_)
        server.kill()
        stop.set()
        t.join()
        start += 100000
    server = make_server(CRASH).start()
    deadline = time.time() + 30
    counts = collections.Counter()
    while time.time() < deadline:
        counts = collections.Counter()
        for key, path in lake_objects(data_dir).items():
            if key.endswith(".parquet"):
                for r in read_parquet(path)[1]:
                    counts[r["id"]] += 1
        if acked <= set(counts):
            break
        time.sleep(0.5)
    assert acked, "the producer got nothing acknowledged"
    missing = acked - set(counts)
    assert not missing, f"{len(missing)} acknowledged records lost"
    dup = [i for i, c in counts.items() if c > 1]
    assert not dup, f"duplicates: {dup[:10]}"
    assert set(counts) <= acked | unsure


def test_update_destination_switches_a_json_stream_to_parquet(make_server, data_dir):
    server = make_server(CONFIG).start()
    make_schema_table(server, "shop", "kv", [("k", "string"), ("v", "bigint")])
    fh = firehose(server)
    fh.create_delivery_stream(
        DeliveryStreamName="sw", DeliveryStreamType="DirectPut",
        ExtendedS3DestinationConfiguration={
            "RoleARN": ROLE, "BucketARN": BUCKET_ARN, "Prefix": "sw/",
            "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 1}})
    desc = fh.describe_delivery_stream(DeliveryStreamName="sw")["DeliveryStreamDescription"]
    dest_id, version = desc["Destinations"][0]["DestinationId"], desc["VersionId"]
    with pytest.raises(botocore.exceptions.ClientError) as ex:
        fh.update_destination(
            DeliveryStreamName="sw", CurrentDeliveryStreamVersionId=version,
            DestinationId=dest_id, ExtendedS3DestinationUpdate={
                "DataFormatConversionConfiguration": {
                    **conversion("shop", "kv"),
                    "OutputFormatConfiguration": {"Serializer": {"OrcSerDe": {}}}}})
    assert "OrcSerDe" in ex.value.response["Error"]["Message"]
    fh.update_destination(
        DeliveryStreamName="sw", CurrentDeliveryStreamVersionId=version, DestinationId=dest_id,
        ExtendedS3DestinationUpdate={"DataFormatConversionConfiguration":
                                     conversion("shop", "kv", Compression="GZIP")})
    fh.put_record(DeliveryStreamName="sw", Record={"Data": b'{"k": "a", "v": 1}'})
    keys, rows = wait_objects(data_dir, "sw/", ".parquet", 1)
    assert rows == [{"k": "a", "v": 1}]
