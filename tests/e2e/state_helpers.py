"""The whole observable state of a running salespipe, read through its public APIs, as one
hash: every table (description and every item), every table stream record, every Kinesis
stream (description and every record of every shard), every pipe, every bucket and the bytes
of every object, plus Firehose/Glue/Athena listings where those APIs are served. Tests take it
before and after something that must change nothing.

The pipeline moves data in the background (table stream -> Kinesis -> lake), so `settled_state`
waits until two readings a moment apart agree before returning."""
import hashlib
import json
import time

from botocore.exceptions import ClientError

# Fields that change by themselves (clocks) rather than by what the state holds.
VOLATILE = {"ResponseMetadata", "NextShardIterator", "ShardIterator", "MillisBehindLatest",
            "CreationDateTime", "CreationTime", "LastModifiedTime", "StreamCreationTimestamp",
            "ApproximateArrivalTimestamp", "LastModified", "LastUpdateToPayPerRequestDateTime",
            "CreationDate", "StatusReason"}


def _clean(v):
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items() if k not in VOLATILE}
    if isinstance(v, list):
        return [_clean(x) for x in v]
    if isinstance(v, (bytes, bytearray)):
        return hashlib.sha256(bytes(v)).hexdigest()
    return v


def _optional(fn):
    """Calls fn; None when the service is not served (yet) by this build."""
    try:
        return fn()
    except ClientError as e:
        if e.response["Error"]["Code"] in ("UnknownOperationException", "UnknownOperation"):
            return None
        raise


def _shard_records(get_iter, get_records, shard_id):
    it = get_iter(shard_id)
    out = []
    for _ in range(1000):
        r = get_records(it)
        out += r["Records"]
        it = r.get("NextShardIterator")
        if not it or not r["Records"]:
            break
    return out


def observable_state(server, client=None):
    """A dict of everything the APIs show. client(service) makes a boto3 client (default: the
    server's unsigned test clients)."""
    client = client or server.client
    state = {}
    ddb = client("dynamodb")
    tables = ddb.list_tables()["TableNames"]
    state["tables"] = {}
    for t in tables:
        items = []
        for page in ddb.get_paginator("scan").paginate(TableName=t):
            items += page["Items"]
        items.sort(key=lambda i: json.dumps(i, sort_keys=True))
        state["tables"][t] = {"describe": ddb.describe_table(TableName=t)["Table"], "items": items}

    streams = client("dynamodbstreams")
    state["table_streams"] = {}
    for s in streams.list_streams()["Streams"]:
        arn = s["StreamArn"]
        desc = streams.describe_stream(StreamArn=arn)["StreamDescription"]
        recs = {}
        for sh in desc["Shards"]:
            recs[sh["ShardId"]] = _shard_records(
                lambda sid: streams.get_shard_iterator(StreamArn=arn, ShardId=sid,
                                                       ShardIteratorType="TRIM_HORIZON")["ShardIterator"],
                lambda it: streams.get_records(ShardIterator=it),
                sh["ShardId"])
        state["table_streams"][arn] = {"describe": desc, "records": recs}

    kin = client("kinesis")
    state["kinesis"] = {}
    for name in kin.list_streams()["StreamNames"]:
        desc = kin.describe_stream(StreamName=name)["StreamDescription"]
        recs = {}
        for sh in desc["Shards"]:
            recs[sh["ShardId"]] = _shard_records(
                lambda sid: kin.get_shard_iterator(StreamName=name, ShardId=sid,
                                                   ShardIteratorType="TRIM_HORIZON")["ShardIterator"],
                lambda it: kin.get_records(ShardIterator=it, Limit=10000),
                sh["ShardId"])
        state["kinesis"][name] = {"describe": desc, "records": recs}

    pipes = client("pipes")
    state["pipes"] = {p["Name"]: pipes.describe_pipe(Name=p["Name"])
                      for p in pipes.list_pipes()["Pipes"]}

    s3 = client("s3")
    state["buckets"] = {}
    for b in s3.list_buckets()["Buckets"]:
        objs = {}
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=b["Name"]):
            for o in page.get("Contents", []):
                objs[o["Key"]] = s3.get_object(Bucket=b["Name"], Key=o["Key"])["Body"].read()
        state["buckets"][b["Name"]] = objs

    state["firehose"] = _optional(lambda: client("firehose").list_delivery_streams())
    state["glue_databases"] = _optional(lambda: client("glue").get_databases())
    state["athena_workgroups"] = _optional(lambda: client("athena").list_work_groups())
    return _clean(state)


def state_hash(server, client=None):
    blob = json.dumps(observable_state(server, client), sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def settled_state(server, client=None, timeout=60, quiet_seconds=3.0):
    """The state hash once the background stages stopped moving data: unchanged over
    quiet_seconds, longer than the delivery buffers' 1 s interval plus a flush."""
    deadline = time.time() + timeout
    prev, since = state_hash(server, client), time.time()
    while time.time() < deadline:
        time.sleep(0.5)
        cur = state_hash(server, client)
        if cur != prev:
            prev, since = cur, time.time()
        elif time.time() - since >= quiet_seconds:
            return cur
    raise AssertionError("the pipeline never settled")
