"""A delivery stream whose destination is a remote S3-compatible service instead of the
embedded lake: the seed pipeline writes into s3rver (an S3 we did not write), a big object
goes to a second salespipe as a multipart upload, remote errors (no such bucket, endpoint
down) reach status and /metrics and are retried until the objects land, each record once."""
import collections
import json
import os
import re
import subprocess
import time
import urllib.request

from conftest import BIN, REGION, Server
from s3_remote import S3RVER_KEYS, S3rver, remote_objects, s3_client, until

SEED_TABLES = """
tables:
  - name: OrdersRawTable
    hash_key: orderid
    hash_key_type: S
    stream_view_type: NEW_AND_OLD_IMAGES
streams:
  - name: kinesis-for-sales-data
    shard_count: 2
pipes:
  - name: orders-cdc-pipe
    source_table: OrdersRawTable
    target_stream: kinesis-for-sales-data
    batch_size: 500
"""

KEY_RE = re.compile(r"^\d{4}/\d{2}/\d{2}/\d{2}/sales-delivery-stream-1-"
                    r"\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-[0-9a-f-]{36}$")


def start(tmp_path, name, config, env=None):
    cfg = tmp_path / f"{name}.yaml"
    cfg.write_text(config)
    data = tmp_path / name
    data.mkdir(exist_ok=True)
    return Server(str(data), str(cfg), env=env).start()


def firehose_health(server, stream):
    return server.health()["services"]["firehose"]["delivery_streams"][stream]


def metrics(server):
    with urllib.request.urlopen(server.endpoint + "/_salespipe/metrics", timeout=5) as r:
        return r.read().decode()


def lines(objs):
    return [l for body, _ in objs.values() for l in body.decode().split("\n") if l]


def test_seed_pipeline_delivers_into_s3rver(tmp_path):
    s3rver = S3rver(str(tmp_path / "s3rver"), buckets=["lake-out"])
    os.makedirs(s3rver.directory)
    s3rver.start()
    server = None
    try:
        server = start(tmp_path, "sp", SEED_TABLES + f"""
delivery_streams:
  - name: sales-delivery-stream
    source_stream: kinesis-for-sales-data
    buffer_interval_seconds: 1
    processors:
      - type: dynamodb-cdc
    destination: {{kind: s3, endpoint: "{s3rver.endpoint}", region: {REGION}, bucket: lake-out,
                   access_key_id: {S3RVER_KEYS[0]}, secret_access_key: {S3RVER_KEYS[1]}}}
""")
        ddb = server.client("dynamodb")
        for i in range(40):
            ddb.put_item(TableName="OrdersRawTable",
                         Item={"orderid": {"S": f"o{i}"}, "product_name": {"S": "Laptop"},
                               "quantity": {"N": "1"}, "price": {"N": "10.5"}})
        s3 = s3_client(s3rver.endpoint, S3RVER_KEYS)
        wanted = {f"o{i}" for i in range(40)}
        objs = until(lambda: (lambda o: o if {json.loads(l)["orderid"] for l in lines(o)} >= wanted
                              else None)(remote_objects(s3, "lake-out")))
        assert objs, "the changes never reached s3rver"
        for key in objs:
            assert KEY_RE.match(key), key
        counts = collections.Counter(json.loads(l)["orderid"] for l in lines(objs))
        assert counts == {k: 1 for k in wanted}
        assert all(json.loads(l)["cdc_event_type"] == "INSERT" for l in lines(objs))
        # Nothing went to the embedded lake.
        assert not os.path.exists(os.path.join(server.data_dir, "lake", "lake-out"))
        h = firehose_health(server, "sales-delivery-stream")
        assert h["sink"] == "s3" and h["sink_errors"] == 0 and h["sink_last_error"] == ""
        assert h["sink_target"] == f"s3 {s3rver.endpoint} ({REGION})"
        m = metrics(server)
        assert (f'salespipe_firehose_sink_info{{name="sales-delivery-stream",kind="s3",'
                f'target="s3 {s3rver.endpoint} ({REGION})",last_error=""}} 1') in m
        assert 'salespipe_firehose_sink_errors{name="sales-delivery-stream"} 0' in m
        # The dashboard's view of the stream names the destination, never its credentials.
        with urllib.request.urlopen(server.endpoint + "/_salespipe/api/delivery?name="
                                    "sales-delivery-stream", timeout=5) as r:
            view = json.loads(r.read())
        assert view["config"]["destination"] == {"kind": "s3", "endpoint": s3rver.endpoint,
                                                 "region": REGION, "bucket": "lake-out"}
        assert view["objects"] == [] and S3RVER_KEYS[1] not in json.dumps(view)
        status = subprocess.run([BIN, "status", "--endpoint", server.endpoint],
                                capture_output=True, text=True, timeout=30)
        assert status.returncode == 0 and "sink=s3" in status.stdout.replace(": ", "="), \
            status.stdout
    finally:
        if server:
            assert server.stop() == 0, server.read_log()[-3000:]
        s3rver.stop()


REMOTE_KEYS = ("AKIDREMOTESP00001", "remote-secret-key")


def test_big_object_is_a_multipart_upload_into_a_second_salespipe(tmp_path):
    # The second salespipe checks SigV4 (credentials configured), so every request of the
    # multipart upload must be signed right, query strings included.
    remote = start(tmp_path, "remote", f"""
buckets:
  - name: remote-lake
credentials:
  - access_key_id: {REMOTE_KEYS[0]}
    secret_access_key: {REMOTE_KEYS[1]}
""")
    creds = tmp_path / "credentials"
    creds.write_text(f"[default]\naws_access_key_id = wrong\naws_secret_access_key = wrong\n\n"
                     f"# the profile the test selects\n[remote]\n"
                     f"aws_access_key_id = {REMOTE_KEYS[0]}\n"
                     f"aws_secret_access_key = {REMOTE_KEYS[1]}\n")
    env = {"AWS_SHARED_CREDENTIALS_FILE": str(creds), "AWS_PROFILE": "remote",
           "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}
    server = None
    try:
        server = start(tmp_path, "sp", f"""
delivery_streams:
  - name: big
    buffer_size_mb: 16
    buffer_interval_seconds: 3
    destination: {{kind: s3, endpoint: "{remote.endpoint}", region: {REGION}, bucket: remote-lake,
                   multipart_threshold_mb: 1, part_size_mb: 5}}
""", env=env)
        fh = server.client("firehose")
        record = lambda i: (json.dumps({"i": i}) + " " * 100_000 + "\n").encode()
        for start_ in range(0, 66, 30):  # 66 records of ~100 KB: one object of ~6.6 MB
            fh.put_record_batch(DeliveryStreamName="big",
                                Records=[{"Data": record(i)} for i in range(start_, min(start_ + 30, 66))])
        s3 = s3_client(remote.endpoint, REMOTE_KEYS)
        objs = until(lambda: (lambda o: o if len(lines(o)) >= 66 else None)(
            remote_objects(s3, "remote-lake")), timeout=40)
        assert objs, firehose_health(server, "big")
        body = b"".join(b for b, _ in sorted(objs.values()))
        assert [json.loads(l)["i"] for l in lines(objs)] == list(range(66)) or \
            sorted(json.loads(l)["i"] for l in lines(objs)) == list(range(66))
        big = [etag for b, etag in objs.values() if len(b) > 5 * 1024 * 1024]
        assert big and all(re.search(r"-2\"?$", e) for e in big), objs.keys()
        # A small object is one PutObject.
        fh.put_record(DeliveryStreamName="big", Record={"Data": b'{"small": 1}\n'})
        small = until(lambda: [e for b, e in remote_objects(s3, "remote-lake").values()
                               if b == b'{"small": 1}\n'], timeout=20)
        assert small and "-" not in small[0]
        assert len(body) > 6 * 1024 * 1024
        assert firehose_health(server, "big")["sink_errors"] == 0
    finally:
        if server:
            assert server.stop() == 0, server.read_log()[-3000:]
        assert remote.stop() == 0


def test_remote_errors_reach_status_and_are_retried_without_loss(tmp_path):
    s3rver = S3rver(str(tmp_path / "s3rver"), buckets=["lake-out"])
    os.makedirs(s3rver.directory)
    s3rver.start()
    env = {"AWS_ACCESS_KEY_ID": S3RVER_KEYS[0], "AWS_SECRET_ACCESS_KEY": S3RVER_KEYS[1]}
    server = None
    try:
        server = start(tmp_path, "sp", f"""
delivery_streams:
  - name: remote
    buffer_interval_seconds: 0
    append_delimiter: true
    destination: {{kind: s3, endpoint: "{s3rver.endpoint}", region: {REGION},
                   bucket: not-there-yet, max_attempts: 2, timeout_seconds: 5}}
""", env=env)
        fh = server.client("firehose")
        fh.put_record_batch(DeliveryStreamName="remote",
                            Records=[{"Data": json.dumps({"id": i}).encode()} for i in range(50)])
        h = until(lambda: (lambda h: h if "NoSuchBucket" in h["sink_last_error"] else None)(
            firehose_health(server, "remote")))
        assert h, firehose_health(server, "remote")
        assert h["sink_errors"] >= 1 and "not-there-yet" in h["sink_last_error"] or \
            "NoSuchBucket" in h["sink_last_error"]
        assert "PutObject" in h["sink_last_error"] and "HTTP 404" in h["sink_last_error"]
        assert 'last_error="' in metrics(server) and "NoSuchBucket" in metrics(server)
        s3 = s3_client(s3rver.endpoint, S3RVER_KEYS)
        s3.create_bucket(Bucket="not-there-yet")
        ids = lambda: collections.Counter(json.loads(l)["id"]
                                          for l in lines(remote_objects(s3, "not-there-yet")))
        assert until(lambda: set(ids()) >= set(range(50)))

        # The endpoint goes away: records wait, the error says so, nothing is lost.
        s3rver.stop()
        fh.put_record_batch(DeliveryStreamName="remote",
                            Records=[{"Data": json.dumps({"id": i}).encode()}
                                     for i in range(50, 100)])
        h = until(lambda: (lambda h: h if "NetworkingError" in h["sink_last_error"] else None)(
            firehose_health(server, "remote")))
        assert h, firehose_health(server, "remote")
        assert "no answer from " + s3rver.endpoint in h["sink_last_error"]
        s3rver.start()
        assert until(lambda: set(ids()) >= set(range(100)), timeout=40)
        assert ids() == {i: 1 for i in range(100)}
    finally:
        if server:
            assert server.stop() == 0, server.read_log()[-3000:]
        s3rver.stop()


def test_bad_destination_is_refused_at_load(tmp_path):
    cases = {
        "{kind: s3, endpoint: 'ftp://x', region: r, bucket: bbb}":
            "destination.endpoint must be an http:// or https:// URL",
        "{kind: s3, endpoint: 'http://127.0.0.1:1', region: r, bucket: Not_A_Bucket}":
            "destination.bucket must be an S3 bucket name",
        "{kind: s3, endpoint: 'http://127.0.0.1:1', bucket: bbb}":
            "destination.region is required",
        "{kind: gcs}": "destination.kind must be lake or s3",
        "{kind: s3, endpoint: 'http://127.0.0.1:1', region: r, bucket: bbb, access_key_id: a}":
            "go together",
        "{kind: s3, endpoint: 'http://127.0.0.1:1', region: r, bucket: bbb, part_size_mb: 1}":
            "part_size_mb must be an integer between 5 and 5120",
        "{kind: s3, endpoint: 'http://127.0.0.1:1', region: r, bucket: bbb, colour: red}":
            "destination.colour is not a member of a s3 destination",
    }
    for dest, message in cases.items():
        f = tmp_path / "bad.yaml"
        f.write_text(f"delivery_streams:\n  - name: x\n    destination: {dest}\n")
        out = subprocess.run([BIN, "config", "--config", str(f)], capture_output=True, text=True)
        assert out.returncode == 2, (dest, out.stdout)
        assert f"bad.yaml:3: delivery_streams[0].destination: " in out.stderr, out.stderr
        assert message in out.stderr, (dest, out.stderr)


def test_no_credentials_anywhere_refuses_to_start_naming_where_it_looked(tmp_path):
    cfg = tmp_path / "sp.yaml"
    cfg.write_text("delivery_streams:\n  - name: x\n    destination: {kind: s3, endpoint: "
                   "'http://127.0.0.1:9', region: us-east-1, bucket: bbb}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["HOME"] = str(tmp_path / "nohome")
    out = subprocess.run([BIN, "serve", "--port", "0", "--data-dir", str(tmp_path / "d"),
                          "--config", str(cfg)], capture_output=True, text=True, env=env,
                         timeout=60)
    assert out.returncode != 0
    assert "NoCredentials" in out.stderr and "AWS_ACCESS_KEY_ID" in out.stderr, out.stderr
    assert "~/.aws/credentials" in out.stderr and str(tmp_path) not in out.stderr


def test_a_stop_is_not_held_by_an_unresponsive_endpoint_and_the_batch_lands_later(tmp_path):
    import socket
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(16)  # connections are accepted by the kernel, never answered
    config = """
delivery_streams:
  - name: remote
    buffer_interval_seconds: 0
    append_delimiter: true
    destination: {{kind: s3, endpoint: "{endpoint}", region: us-east-1, bucket: lake-out}}
"""
    env = {"AWS_ACCESS_KEY_ID": S3RVER_KEYS[0], "AWS_SECRET_ACCESS_KEY": S3RVER_KEYS[1]}
    s3rver = S3rver(str(tmp_path / "s3rver"), buckets=["lake-out"])
    os.makedirs(s3rver.directory)
    server = None
    try:
        server = start(tmp_path, "sp", config.format(
            endpoint=f"http://127.0.0.1:{hole.getsockname()[1]}"), env=env)
        server.client("firehose").put_record_batch(
            DeliveryStreamName="remote",
            Records=[{"Data": json.dumps({"id": i}).encode()} for i in range(20)])
        time.sleep(1)  # the flush is now waiting on the endpoint
        t0 = time.time()
        assert server.stop() == 0, server.read_log()[-3000:]
        assert time.time() - t0 < 30
        s3rver.start()
        server = start(tmp_path, "sp", config.format(endpoint=s3rver.endpoint), env=env)
        s3 = s3_client(s3rver.endpoint, S3RVER_KEYS)
        ids = lambda: collections.Counter(json.loads(l)["id"]
                                          for l in lines(remote_objects(s3, "lake-out")))
        assert until(lambda: set(ids()) >= set(range(20)))
        assert ids() == {i: 1 for i in range(20)}
    finally:
        if server and server.proc:
            assert server.stop() == 0, server.read_log()[-3000:]
        s3rver.stop()
        hole.close()
