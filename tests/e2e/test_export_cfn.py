"""salespipe export cloudformation (issue 17, "Deployable to AWS"): the template of the seed
pipeline and of a non-default configuration validates offline against the CloudFormation
resource specification (npm @aws-cdk/cfnspec, through oracles/cfn_validate.mjs, whose own
failures on broken templates are tested here too), describes exactly the configured resources
and nothing else, and ships an inline Python handler that writes, for real stream records, the
same lines as salespipe's builtin dynamodb-cdc processor (and fails the same records)."""
import base64
import copy
import json
import os
import shutil
import subprocess
import time

import pytest

from conftest import BIN, SOURCE

HERE = os.path.dirname(os.path.abspath(__file__))
ORACLES = os.path.join(HERE, "oracles")
MODULES = os.environ.get("SALESPIPE_ORACLES_DIR", os.path.join(SOURCE, "tools"))
CUSTOM = os.path.join(HERE, "data", "export_custom.yaml")
BUCKET = "kinesis-firehose-destination-yb"


def export(tmp_path, *args):
    out = subprocess.run([BIN, "export", "cloudformation", "--data-dir", str(tmp_path / "d"),
                          *args], capture_output=True, text=True, timeout=60)
    return out


def template(tmp_path, *args):
    out = export(tmp_path, *args)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def validate(tmp_path, tpl, name="t.json"):
    if not shutil.which("node"):
        pytest.skip("node is not installed (scripts/deps.sh)")
    if not os.path.isdir(os.path.join(MODULES, "node_modules", "@aws-cdk", "cfnspec")):
        pytest.skip(f"npm oracle @aws-cdk/cfnspec missing in {MODULES}/node_modules")
    p = tmp_path / name
    p.write_text(json.dumps(tpl))
    out = subprocess.run(["node", os.path.join(ORACLES, "cfn_validate.mjs"), str(p)],
                         capture_output=True, text=True, timeout=120,
                         env=dict(os.environ, SALESPIPE_ORACLES_DIR=MODULES))
    assert out.returncode in (0, 1), out.stderr
    result = json.loads(out.stdout)
    assert (out.returncode == 0) == (not result["errors"])
    return result["errors"]


def by_type(tpl):
    out = {}
    for rid, r in tpl["Resources"].items():
        out.setdefault(r["Type"], {})[rid] = r["Properties"]
    return out


def names(resources, key):
    return sorted(p[key] for p in resources.values())


# ---- the validator itself --------------------------------------------------------------------

def test_validator_refuses_broken_templates(tmp_path):
    good = template(tmp_path)
    assert validate(tmp_path, good) == []
    res = good["Resources"]

    def broken(mutate):
        t = copy.deepcopy(good)
        mutate(t["Resources"])
        return validate(tmp_path, t, "broken.json")

    def unknown_property(r):
        r["StreamKinesisForSalesData"]["Properties"]["ShardCountt"] = 3
    def missing_required(r):
        del r["TableOrdersRawTable"]["Properties"]["KeySchema"]
    def wrong_primitive(r):
        r["StreamKinesisForSalesData"]["Properties"]["ShardCount"] = "two"
    def wrong_nested_type(r):
        r["DeliveryStreamSalesDeliveryStream"]["Properties"]["ExtendedS3DestinationConfiguration"][
            "BufferingHints"]["SizeInMBs"] = {"a": 1}
    def unknown_nested_property(r):
        r["PipeOrdersCdcPipe"]["Properties"]["SourceParameters"]["DynamoDBStreamParameters"][
            "BatchSizee"] = 1
    def missing_nested_required(r):
        del r["PipeOrdersCdcPipe"]["Properties"]["SourceParameters"]["DynamoDBStreamParameters"][
            "StartingPosition"]
    def list_not_list(r):
        r["TableOrdersRawTable"]["Properties"]["KeySchema"] = {"AttributeName": "orderid"}
    def unknown_type(r):
        r["TableOrdersRawTable"]["Type"] = "AWS::DynamoDB::Tabel"
    def bad_getatt(r):
        r["PipeOrdersCdcPipe"]["Properties"]["Source"] = {
            "Fn::GetAtt": ["TableOrdersRawTable", "StreamArnn"]}
    def dangling_ref_in_policy(r):
        r["PipeRoleOrdersCdcPipe"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0][
            "Resource"] = {"Fn::Sub": "${NoSuchTable.StreamArn}"}

    cases = {unknown_property: "has no property 'ShardCountt'",
             missing_required: "requires property 'KeySchema'",
             wrong_primitive: "expected Integer",
             wrong_nested_type: "BufferingHints/SizeInMBs: expected Integer",
             unknown_nested_property: "has no property 'BatchSizee'",
             missing_nested_required: "requires property 'StartingPosition'",
             list_not_list: "expected a list",
             unknown_type: "unknown resource type AWS::DynamoDB::Tabel",
             bad_getatt: "has no attribute 'StreamArnn'",
             dangling_ref_in_policy: "'NoSuchTable', which is not a resource"}
    for mutate, want in cases.items():
        errors = broken(mutate)
        assert len(errors) >= 1 and any(want in e for e in errors), (mutate.__name__, errors)
    assert res  # the good template was not touched by the mutations


# ---- the seed pipeline -----------------------------------------------------------------------

def test_seed_template_is_exactly_the_seed_pipeline(tmp_path):
    tpl = template(tmp_path)
    assert validate(tmp_path, tpl) == []
    t = by_type(tpl)
    assert sorted(t) == sorted([
        "AWS::DynamoDB::Table", "AWS::Kinesis::Stream", "AWS::Pipes::Pipe", "AWS::S3::Bucket",
        "AWS::KinesisFirehose::DeliveryStream", "AWS::Lambda::Function", "AWS::Glue::Database",
        "AWS::Glue::Classifier", "AWS::Glue::Crawler", "AWS::IAM::Role"])
    assert "Parameters" not in tpl  # nothing for the deployer to fill in
    (table,) = t["AWS::DynamoDB::Table"].values()
    assert table["TableName"] == "OrdersRawTable"
    assert table["KeySchema"] == [{"AttributeName": "orderid", "KeyType": "HASH"}]
    assert table["AttributeDefinitions"] == [{"AttributeName": "orderid", "AttributeType": "S"}]
    assert table["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    (stream,) = t["AWS::Kinesis::Stream"].values()
    assert (stream["Name"], stream["ShardCount"], stream["RetentionPeriodHours"]) == \
        ("kinesis-for-sales-data", 2, 24)
    (pipe,) = t["AWS::Pipes::Pipe"].values()
    assert pipe["Name"] == "orders-cdc-pipe"
    assert pipe["Source"] == {"Fn::GetAtt": ["TableOrdersRawTable", "StreamArn"]}
    assert pipe["Target"] == {"Fn::GetAtt": ["StreamKinesisForSalesData", "Arn"]}
    assert pipe["SourceParameters"] == {"DynamoDBStreamParameters": {
        "StartingPosition": "TRIM_HORIZON", "BatchSize": 500, "MaximumBatchingWindowInSeconds": 0}}
    assert pipe["TargetParameters"] == {
        "KinesisStreamParameters": {"PartitionKey": "$.dynamodb.Keys.orderid.S"}}
    (fh,) = t["AWS::KinesisFirehose::DeliveryStream"].values()
    assert fh["DeliveryStreamName"] == "sales-delivery-stream"
    assert fh["DeliveryStreamType"] == "KinesisStreamAsSource"
    dest = fh["ExtendedS3DestinationConfiguration"]
    assert dest["BufferingHints"] == {"SizeInMBs": 5, "IntervalInSeconds": 1}
    assert dest["CompressionFormat"] == "UNCOMPRESSED"
    assert "Prefix" not in dest and "ErrorOutputPrefix" not in dest  # Firehose's default layout
    assert "DynamicPartitioningConfiguration" not in dest
    assert "DataFormatConversionConfiguration" not in dest
    (proc,) = dest["ProcessingConfiguration"]["Processors"]
    assert proc == {"Type": "Lambda", "Parameters": [{
        "ParameterName": "LambdaArn",
        "ParameterValue": {"Fn::GetAtt": ["CdcFunctionSalesDeliveryStream", "Arn"]}}]}
    (fn,) = t["AWS::Lambda::Function"].values()
    assert fn["Handler"] == "index.handler" and fn["Runtime"].startswith("python3")
    assert "def handler(event, context)" in fn["Code"]["ZipFile"]
    assert names(t["AWS::S3::Bucket"], "BucketName") == [BUCKET]
    (db,) = t["AWS::Glue::Database"].values()
    assert db["DatabaseInput"] == {"Name": "sales_db"}
    (cl,) = t["AWS::Glue::Classifier"].values()
    assert cl == {"JsonClassifier": {"Name": "sales-json-classifier", "JsonPath": "$"}}
    (cr,) = t["AWS::Glue::Crawler"].values()
    assert cr["Name"] == "sales-crawler"
    assert cr["Targets"] == {"S3Targets": [{"Path": {"Fn::Sub": "s3://${BucketKinesisFirehoseDestinationYb}/"}}]}
    assert cr["Classifiers"] == [{"Ref": "ClassifierSalesJsonClassifier"}]
    assert cr["DatabaseName"] == {"Ref": "DatabaseSalesDb"}
    assert "Schedule" not in cr  # on demand, as `salespipe crawl`
    roles = t["AWS::IAM::Role"]
    assert sorted(roles) == ["CdcFunctionRoleSalesDeliveryStream", "CrawlerRoleSalesCrawler",
                             "DeliveryRoleSalesDeliveryStream", "PipeRoleOrdersCdcPipe"]


def statements(role):
    return [s for p in role.get("Policies", []) for s in p["PolicyDocument"]["Statement"]]


def test_roles_are_least_privilege(tmp_path):
    tpl = template(tmp_path)
    roles = by_type(tpl)["AWS::IAM::Role"]
    for rid, role in roles.items():
        for s in statements(role):
            assert s["Effect"] == "Allow"
            assert all("*" not in a for a in s["Action"]), (rid, s)
            for r in s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]:
                assert r != "*", (rid, s)
                text = json.dumps(r)
                # the only wildcard is the object part of a bucket ARN
                assert "*" not in text or text.endswith('/*"}'), (rid, s)
    pipe = statements(roles["PipeRoleOrdersCdcPipe"])
    assert {a: s["Resource"] for s in pipe for a in s["Action"]} == {
        "dynamodb:DescribeStream": {"Fn::GetAtt": ["TableOrdersRawTable", "StreamArn"]},
        "dynamodb:GetRecords": {"Fn::GetAtt": ["TableOrdersRawTable", "StreamArn"]},
        "dynamodb:GetShardIterator": {"Fn::GetAtt": ["TableOrdersRawTable", "StreamArn"]},
        "dynamodb:ListStreams": {"Fn::GetAtt": ["TableOrdersRawTable", "StreamArn"]},
        "kinesis:PutRecord": {"Fn::GetAtt": ["StreamKinesisForSalesData", "Arn"]},
        "kinesis:PutRecords": {"Fn::GetAtt": ["StreamKinesisForSalesData", "Arn"]}}
    assert roles["PipeRoleOrdersCdcPipe"]["AssumeRolePolicyDocument"]["Statement"][0][
        "Principal"] == {"Service": "pipes.amazonaws.com"}
    fh = {a: s["Resource"] for s in statements(roles["DeliveryRoleSalesDeliveryStream"])
          for a in s["Action"]}
    assert fh["kinesis:GetRecords"] == {"Fn::GetAtt": ["StreamKinesisForSalesData", "Arn"]}
    assert fh["s3:PutObject"] == [{"Fn::GetAtt": ["BucketKinesisFirehoseDestinationYb", "Arn"]},
                                  {"Fn::Sub": "${BucketKinesisFirehoseDestinationYb.Arn}/*"}]
    assert fh["lambda:InvokeFunction"] == {"Fn::GetAtt": ["CdcFunctionSalesDeliveryStream", "Arn"]}
    assert not any(a.startswith("glue:") for a in fh)  # no conversion, no Glue access
    crawler = roles["CrawlerRoleSalesCrawler"]
    assert crawler["ManagedPolicyArns"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSGlueServiceRole"}]
    assert {a for s in statements(crawler) for a in s["Action"]} == {"s3:GetObject", "s3:ListBucket"}


# ---- a non-default configuration -------------------------------------------------------------

def test_custom_config_template_is_exactly_that_config(tmp_path):
    tpl = template(tmp_path, "--config", CUSTOM)
    assert validate(tmp_path, tpl) == []
    t = by_type(tpl)
    (table,) = t["AWS::DynamoDB::Table"].values()
    assert table["TableName"] == "ShopEvents"
    assert table["KeySchema"] == [{"AttributeName": "shop_id", "KeyType": "HASH"},
                                  {"AttributeName": "event_ts", "KeyType": "RANGE"}]
    assert table["AttributeDefinitions"] == [{"AttributeName": "shop_id", "AttributeType": "N"},
                                             {"AttributeName": "event_ts", "AttributeType": "S"}]
    assert table["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}
    (stream,) = t["AWS::Kinesis::Stream"].values()
    assert (stream["Name"], stream["ShardCount"], stream["RetentionPeriodHours"]) == \
        ("shop-log.v2", 8, 72)
    assert "StreamShopLogV2" in tpl["Resources"]  # ids: the name's alphanumeric runs
    (pipe,) = t["AWS::Pipes::Pipe"].values()
    assert pipe["SourceParameters"]["DynamoDBStreamParameters"] == {
        "StartingPosition": "LATEST", "BatchSize": 250, "MaximumBatchingWindowInSeconds": 7}
    patterns = [json.loads(f["Pattern"]) for f in pipe["SourceParameters"]["FilterCriteria"]["Filters"]]
    assert patterns == [{"eventName": ["INSERT", "MODIFY"]},
                        {"dynamodb": {"NewImage": {"amount": {"N": [{"numeric": [">", 100]}]}}}}]
    assert pipe["TargetParameters"]["KinesisStreamParameters"]["PartitionKey"] == \
        "$.dynamodb.NewImage.region.S"
    fhs = {p["DeliveryStreamName"]: p for p in t["AWS::KinesisFirehose::DeliveryStream"].values()}
    assert sorted(fhs) == ["shop-by-region", "shop-parquet"]
    pq = fhs["shop-parquet"]["ExtendedS3DestinationConfiguration"]
    assert pq["BufferingHints"] == {"SizeInMBs": 96, "IntervalInSeconds": 120}
    assert pq["Prefix"] == "parquet/year=!{timestamp:yyyy}/month=!{timestamp:MM}/"
    assert pq["ErrorOutputPrefix"] == "errors/!{firehose:error-output-type}/"
    assert pq["CompressionFormat"] == "UNCOMPRESSED"
    conv = pq["DataFormatConversionConfiguration"]
    assert conv["Enabled"] is True
    assert conv["OutputFormatConfiguration"] == {"Serializer": {"ParquetSerDe": {"Compression": "GZIP"}}}
    assert conv["InputFormatConfiguration"] == {"Deserializer": {"OpenXJsonSerDe": {}}}
    assert (conv["SchemaConfiguration"]["DatabaseName"], conv["SchemaConfiguration"]["TableName"]) \
        == ("shop_db", "shop_parquet_schema")
    (schema,) = t["AWS::Glue::Table"].values()
    assert schema["TableInput"]["Name"] == "shop_parquet_schema"
    assert [c["Name"] for c in schema["TableInput"]["StorageDescriptor"]["Columns"]] == [
        "orderid", "product_name", "quantity", "price", "cdc_event_type", "creation_datetime",
        "sequence_number"]
    js = fhs["shop-by-region"]["ExtendedS3DestinationConfiguration"]
    assert js["BufferingHints"] == {"SizeInMBs": 64, "IntervalInSeconds": 60}
    assert js["CompressionFormat"] == "GZIP"
    assert js["Prefix"] == "json/region=!{partitionKeyFromQuery:region}/"
    assert js["ErrorOutputPrefix"] == "failed/!{firehose:error-output-type}/"
    assert js["DynamicPartitioningConfiguration"] == {"Enabled": True}
    procs = js["ProcessingConfiguration"]["Processors"]
    assert [p["Type"] for p in procs] == ["Lambda", "MetadataExtraction", "AppendDelimiterToRecord"]
    assert procs[0]["Parameters"][0]["ParameterValue"] == {"Fn::GetAtt": ["FunctionShopEnrich", "Arn"]}
    meta = {p["ParameterName"]: p["ParameterValue"] for p in procs[1]["Parameters"]}
    assert meta == {"MetadataExtractionQuery": '{"region": (.region)}', "JsonParsingEngine": "JQ-1.6"}
    fns = {p["FunctionName"]: p for p in t["AWS::Lambda::Function"].values()}
    assert sorted(fns) == ["shop-parquet-dynamodb-cdc", "shop_enrich"]
    assert fns["shop_enrich"]["Handler"] == "shop_enrich.lambda_handler"
    assert fns["shop_enrich"]["Code"] == {"S3Bucket": {"Ref": "FunctionShopEnrichCodeS3Bucket"},
                                          "S3Key": {"Ref": "FunctionShopEnrichCodeS3Key"}}
    assert sorted(tpl["Parameters"]) == ["FunctionShopEnrichCodeS3Bucket", "FunctionShopEnrichCodeS3Key"]
    assert names(t["AWS::S3::Bucket"], "BucketName") == ["shop-lake-json", "shop-lake-parquet"]
    assert [d["DatabaseInput"]["Name"] for d in t["AWS::Glue::Database"].values()] == ["shop_db"]
    (cl,) = t["AWS::Glue::Classifier"].values()
    assert cl == {"JsonClassifier": {"Name": "shop-json", "JsonPath": "$.records[*]"}}
    (cr,) = t["AWS::Glue::Crawler"].values()
    assert cr["Targets"] == {"S3Targets": [{"Path": {"Fn::Sub": "s3://${BucketShopLakeJson}/json/"}}]}
    assert cr["SchemaChangePolicy"]["UpdateBehavior"] == "LOG"
    roles = by_type(tpl)["AWS::IAM::Role"]
    pq_role = {a: s["Resource"] for s in statements(roles["DeliveryRoleShopParquet"]) for a in s["Action"]}
    assert "glue:GetTable" in pq_role and "glue:GetTable" not in {
        a for s in statements(roles["DeliveryRoleShopByRegion"]) for a in s["Action"]}
    crawl = {a: s["Resource"] for s in statements(roles["CrawlerRoleShopCrawler"]) for a in s["Action"]}
    assert crawl["s3:GetObject"] == {"Fn::Sub": "${BucketShopLakeJson.Arn}/json/*"}
    assert sorted(tpl["Resources"]) == sorted([
        "TableShopEvents", "StreamShopLogV2", "PipeRoleShopPipe", "PipeShopPipe",
        "BucketShopLakeParquet", "BucketShopLakeJson", "CdcFunctionRoleShopParquet",
        "CdcFunctionShopParquet", "SchemaTableShopParquetSchema", "DeliveryRoleShopParquet",
        "DeliveryStreamShopParquet", "FunctionRoleShopEnrich", "FunctionShopEnrich",
        "DeliveryRoleShopByRegion", "DeliveryStreamShopByRegion", "DatabaseShopDb",
        "ClassifierShopJson", "CrawlerRoleShopCrawler", "CrawlerShopCrawler"])


def test_output_file_is_the_template(tmp_path):
    out = export(tmp_path, "--output", str(tmp_path / "stack.json"))
    assert out.returncode == 0 and out.stdout == ""
    assert json.loads((tmp_path / "stack.json").read_text()) == template(tmp_path)


# ---- bad configurations ------------------------------------------------------------------------

SEED_TAIL = """
buckets:
  - name: b1
delivery_streams:
  - name: d1
    bucket: b1
"""


@pytest.mark.parametrize("yaml,want", [
    ("streams:\n  - name: s\n    shard_count: 0\n", "streams[0].shard_count"),
    ("tables:\n  - name: t\n", "tables[0]"),
    (SEED_TAIL + "    processors:\n      - type: jq\n        expression: .\n",
     "delivery_streams[0].processors[0].type: 'jq' has no Firehose counterpart"),
    (SEED_TAIL + "    compression: ZSTD\n",
     "delivery_streams[0].compression: 'ZSTD' is not a format Firehose writes"),
    (SEED_TAIL + "    processors:\n      - type: dynamodb-cdc\n      - type: lambda\n        function: f\n",
     "delivery_streams[0].processors[1].type: a second Lambda processor"),
    (SEED_TAIL + "    format: parquet\n    parquet_compression: ZSTD\n",
     "delivery_streams[0].parquet_compression: 'ZSTD'"),
    (SEED_TAIL + "    buffer_interval_seconds: 0\n    prefix: 'k=!{partitionKeyFromQuery:k}/'\n"
     "    error_output_prefix: 'e/!{firehose:error-output-type}/'\n"
     "    dynamic_partitioning: {queries: {k: .k}}\n",
     "delivery_streams[0].buffer_interval_seconds: 0 (zero buffering) is not available"),
])
def test_bad_config_is_refused_with_its_key(tmp_path, yaml, want):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(yaml)
    out = export(tmp_path, "--config", str(cfg), "--output", str(tmp_path / "t.json"))
    assert out.returncode == 2, out
    assert want in out.stderr, out.stderr
    assert out.stdout == "" and not (tmp_path / "t.json").exists()


def test_bad_usage(tmp_path):
    assert export(tmp_path, "--bogus").returncode == 2
    out = subprocess.run([BIN, "export", "terraform"], capture_output=True, text=True)
    assert out.returncode == 2 and "only cloudformation" in out.stderr
    out = subprocess.run([BIN, "export"], capture_output=True, text=True)
    assert out.returncode == 2 and "usage" in out.stderr
    out = export(tmp_path, "--config", str(tmp_path / "missing.yaml"))
    assert out.returncode == 2 and "cannot open" in out.stderr


# ---- the inline handler against the builtin processor ----------------------------------------

def run_handler(tmp_path, tpl, event):
    (fn,) = [r["Properties"] for r in tpl["Resources"].values()
             if r["Type"] == "AWS::Lambda::Function"]
    d = tmp_path / "lambda"
    d.mkdir(exist_ok=True)
    (d / "index.py").write_text(fn["Code"]["ZipFile"])
    out = subprocess.run(["/usr/bin/python3", "-c",
                          "import json, sys, index\n"
                          "print(json.dumps(index.handler(json.load(sys.stdin), None)))"],
                         input=json.dumps(event), capture_output=True, text=True, cwd=d,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.splitlines()[-1])["records"]


def firehose_event(records):
    """The event Firehose gives a processor Lambda for Kinesis-sourced records."""
    return {"invocationId": "test", "region": "us-east-1",
            "deliveryStreamArn": "arn:aws:firehose:us-east-1:000000000000:deliverystream/x",
            "sourceKinesisStreamArn": "arn:aws:kinesis:us-east-1:000000000000:stream/x",
            "records": [{"recordId": str(i), "approximateArrivalTimestamp": 1700000000000,
                         "data": base64.b64encode(r["Data"]).decode(),
                         "kinesisRecordMetadata": {"shardId": "shardId-000000000000",
                                                   "partitionKey": r["PartitionKey"],
                                                   "sequenceNumber": r["SequenceNumber"],
                                                   "approximateArrivalTimestamp": 1700000000000,
                                                   "subsequenceNumber": 0}}
                        for i, r in enumerate(records)]}


def read_lake(data_dir):
    ok, failed = [], []
    root = os.path.join(data_dir, "lake", BUCKET)
    for dirpath, _, files in os.walk(root):
        for f in files:
            if f.startswith(".tmp-"):
                continue
            p = os.path.join(dirpath, f)
            rel = os.path.relpath(p, root)
            lines = [l + "\n" for l in open(p, encoding="utf-8").read().split("\n") if l]
            (failed if rel.startswith("processing-failed/") else ok).extend(lines)
    return ok, failed


# Records no real table writes but Kinesis may carry: the builtin fails them, and so must the
# handler (and numbers at the edges of the two printers).
HOSTILE = [b"not json", b"[1,2]", b'{"eventName":"INSERT"}',
           b'{"eventName":"UPSERT","dynamodb":{"NewImage":{}}}',
           b'{"eventName":"INSERT","dynamodb":{"NewImage":null,"Keys":{"k":{"S":"1"}}}}',
           b'{"eventName":"INSERT","eventName":"MODIFY","dynamodb":{"NewImage":{}}}',
           b'{"eventName":"INSERT","dynamodb":{"NewImage":{"n":{"N":"abc"}}}}',
           b'{"eventName":"INSERT","dynamodb":{"NewImage":{"n":{"N":"1e999"}}}}',
           b'{"eventName":"INSERT","dynamodb":{"NewImage":{"x":NaN}}}',
           b'{"eventName":"INSERT","dynamodb":{"NewImage":{"x":{"S":"a\\u0000b"}}}}',
           b'{"eventName":"INSERT","dynamodb":{"NewImage":{"a\\u0000b":{"S":"x"}}}}',
           b'{"eventName":"INSERT","dynamodb":{"NewImage":{"x":{"SS":["a\\u0000b","c"]}}}}',
           b'{"eventName":"INSERT","dynamodb":{"NewImage":{"x":{"S":"a"}},"Big":123456789012345678901}}',
           b'{"eventName":"REMOVE","dynamodb":{"ApproximateCreationDateTime":1700000000123,'
           b'"SequenceNumber":"7","Keys":{"k":{"N":"1000"}},"OldImage":{"k":{"N":"1e3"},'
           b'"f":{"N":"0.1"},"g":{"N":"-1E-7"},"h":{"N":"123456789.123456789"},'
           b'"i":{"N":"9223372036854775808"},"t":{"S":"tab\\t\\u0001\\u001f\\"q\\" \\u00e9 \\ud83d\\ude00"}}}}',
           b'{"eventName":"MODIFY","dynamodb":{"ApproximateCreationDateTime":1700000000.75,'
           b'"NewImage":{"m":{"M":{"z":{"L":[{"NULL":true},{"BOOL":false},{"B":"AAE="}]}}},'
           b'"ss":{"SS":["b","a"]},"ns":{"NS":["3","1.5"]},"bs":{"BS":["AA=="]}}}}']


def test_inline_handler_writes_what_the_builtin_processor_writes(server, data_dir, tmp_path):
    ddb = server.client("dynamodb")
    kin = server.client("kinesis")
    items = [
        {"orderid": {"S": "1"}, "product_name": {"S": "Laptop"}, "quantity": {"N": "2"},
         "price": {"N": "128.92"}},
        {"orderid": {"S": "2"}, "product_name": {"S": "Phöne \u2603"}, "quantity": {"N": "5"},
         "price": {"N": "10"}},
        {"orderid": {"S": "3"}, "product_name": {"S": "Tablet"}, "quantity": {"N": "1"},
         "price": {"N": "499.999"}, "tags": {"SS": ["x", "y"]}, "dims": {"NS": ["1", "2.5"]},
         "meta": {"M": {"a": {"L": [{"N": "1"}, {"S": "two"}, {"BOOL": True}, {"NULL": True}]}}},
         "blob": {"B": b"\x00\x01binary"}, "big": {"N": "12345678901234567890"},
         "tiny": {"N": "0.000001"}},
    ]
    for it in items:
        ddb.put_item(TableName="OrdersRawTable", Item=it)
    ddb.update_item(TableName="OrdersRawTable", Key={"orderid": {"S": "1"}},
                    UpdateExpression="SET quantity = :q", ExpressionAttributeValues={":q": {"N": "3"}})
    ddb.put_item(TableName="OrdersRawTable", Item={**items[1], "price": {"N": "11.5"}})
    ddb.delete_item(TableName="OrdersRawTable", Key={"orderid": {"S": "3"}})
    changes = 6
    for i, raw in enumerate(HOSTILE):
        kin.put_record(StreamName="kinesis-for-sales-data", Data=raw, PartitionKey=f"h{i}")

    # The real stream records, as the pipe wrote them to Kinesis.
    records = []
    deadline = time.time() + 30
    while time.time() < deadline:
        records = []
        for sh in kin.list_shards(StreamName="kinesis-for-sales-data")["Shards"]:
            it = kin.get_shard_iterator(StreamName="kinesis-for-sales-data",
                                        ShardId=sh["ShardId"],
                                        ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            records += kin.get_records(ShardIterator=it, Limit=1000)["Records"]
        if len(records) >= changes + len(HOSTILE):
            break
        time.sleep(0.2)
    assert len(records) == changes + len(HOSTILE)

    # What the builtin processor put in the lake for them.
    ok, failed = [], []
    while time.time() < deadline:
        ok, failed = read_lake(data_dir)
        if len(ok) + len(failed) >= len(records):
            break
        time.sleep(0.2)
    assert len(ok) + len(failed) == len(records), (ok, failed)

    out = run_handler(tmp_path, template(tmp_path), firehose_event(records))
    assert [r["recordId"] for r in out] == [str(i) for i in range(len(records))]
    mine_ok = sorted(base64.b64decode(r["data"]).decode() for r in out if r["result"] == "Ok")
    assert mine_ok == sorted(ok)
    mine_failed = sorted(base64.b64decode(r["data"]) for r in out if r["result"] == "ProcessingFailed")
    lake_failed = sorted(base64.b64decode(json.loads(l)["rawData"]) for l in failed)
    assert mine_failed == lake_failed
    assert len(mine_ok) == changes + 4 and len(mine_failed) == len(HOSTILE) - 4
    assert all(r["result"] in ("Ok", "ProcessingFailed") for r in out)
