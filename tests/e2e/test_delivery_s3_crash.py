"""Exactly once across SIGKILL with a remote destination (s3rver, credentials from the
environment). Direct PUT: as test_delivery_crash, records are put while the server delivers with
interval 0, the server is killed mid-way and restarted (twice). The seed pipeline: the crash
harness of tests/reliability drives changes on OrdersRawTable while the server is killed and
restarted. Either way every acknowledged record / committed change is in the remote bucket
exactly once, because the redo of an interrupted batch puts the same keys again."""
import collections
import json
import os
import random
import sys
import threading
import time

from conftest import REGION, Server
from s3_remote import S3RVER_KEYS, S3rver, remote_objects, s3_client
from test_delivery_crash import producer

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "reliability"))
import crash_harness  # noqa: E402


def count_ids(s3):
    counts = collections.Counter()
    for body, _ in remote_objects(s3, "lake-out").values():
        for l in body.decode().split("\n"):
            if l:
                counts[json.loads(l)["id"]] += 1
    return counts


def test_sigkill_with_s3_destination_keeps_every_record_exactly_once(tmp_path):
    s3rver = S3rver(str(tmp_path / "s3rver"), buckets=["lake-out"])
    os.makedirs(s3rver.directory)
    s3rver.start()
    cfg = tmp_path / "sp.yaml"
    cfg.write_text(f"""
delivery_streams:
  - name: crashy
    buffer_interval_seconds: 0
    append_delimiter: true
    destination: {{kind: s3, endpoint: "{s3rver.endpoint}", region: {REGION}, bucket: lake-out}}
""")
    env = {"AWS_ACCESS_KEY_ID": S3RVER_KEYS[0], "AWS_SECRET_ACCESS_KEY": S3RVER_KEYS[1]}
    data = str(tmp_path / "data")
    os.makedirs(data)
    s3 = s3_client(s3rver.endpoint, S3RVER_KEYS)
    acked, unsure = set(), set()
    start = 0
    server = None
    try:
        for round_ in range(2):
            server = Server(data, str(cfg), env=env).start()
            fh = server.client("firehose")
            stop = threading.Event()
            t = threading.Thread(target=producer, args=(fh, start, acked, unsure, stop))
            t.start()
            time.sleep(1.5 + 0.3 * round_)
            server.kill()
            stop.set()
            t.join()
            start += 100000
        server = Server(data, str(cfg), env=env).start()
        deadline = time.time() + 30
        while time.time() < deadline:
            if acked <= set(count_ids(s3)):
                break
            time.sleep(0.3)
        assert server.stop() == 0, server.read_log()[-3000:]
        server = None
        counts = count_ids(s3)
        assert len(acked) > 100
        missing = acked - set(counts)
        assert not missing, f"{len(missing)} acknowledged records lost"
        dups = {k: c for k, c in counts.items() if c != 1}
        assert not dups, f"duplicates: {list(dups.items())[:10]}"
        assert set(counts) <= acked | unsure
    finally:
        if server:
            server.stop()
        s3rver.stop()


SEED_WITH_S3 = """defaults: seed
delivery_streams:
  - name: sales-delivery-stream
    source_stream: kinesis-for-sales-data
    buffer_interval_seconds: 0
    processors:
      - type: dynamodb-cdc
    destination: {{kind: s3, endpoint: "{endpoint}", region: us-east-1, bucket: lake-out}}
"""


def read_remote(s3):
    """(key, parsed lines) per remote object, the shape crash_harness.check takes."""
    return [(key, [json.loads(l) for l in body.decode().splitlines() if l.strip()])
            for key, (body, _) in sorted(remote_objects(s3, "lake-out").items())]


def test_seed_pipeline_kill9_under_load_puts_every_change_in_s3rver_once(tmp_path):
    s3rver = S3rver(str(tmp_path / "s3rver"), buckets=["lake-out"])
    os.makedirs(s3rver.directory)
    s3rver.start()
    cfg = tmp_path / "seed.yaml"
    cfg.write_text(SEED_WITH_S3.format(endpoint=s3rver.endpoint))
    env = {"AWS_ACCESS_KEY_ID": S3RVER_KEYS[0], "AWS_SECRET_ACCESS_KEY": S3RVER_KEYS[1]}
    data = str(tmp_path / "data")
    os.makedirs(data)
    s3 = s3_client(s3rver.endpoint, S3RVER_KEYS)
    rng = random.Random(11)
    server = Server(data, str(cfg), env=env).start()
    kills = 0
    try:
        load = crash_harness.Load(server, changes=1500, workers=3, seed=11)
        load.start()
        while load.alive() and kills < 3:
            time.sleep(rng.uniform(0.3, 1.2))
            if not load.alive():
                break
            server.kill()
            kills += 1
            server.start()
        while load.alive():
            time.sleep(0.1)
        history = crash_harness.stream_history(server)
        deadline = time.time() + 60
        while time.time() < deadline:
            if sum(len(lines) for _, lines in read_remote(s3)) >= len(history):
                time.sleep(1.5)  # anything still in flight would show as a duplicate
                break
            time.sleep(0.3)
        problems, counts = crash_harness.check(server, history, read_remote(s3))
        assert kills >= 1 and counts["changes"] > 200, counts
        assert problems == [], problems
        assert not os.path.exists(os.path.join(data, "lake", "lake-out"))
    finally:
        rc = server.stop() if server.proc else 0
        s3rver.stop()
    assert rc == 0, server.read_log()[-3000:]
