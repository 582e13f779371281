"""Exactly once across SIGKILL with a remote destination: as test_delivery_crash, records are put
while the server delivers with interval 0 into s3rver (credentials from the environment), the
server is killed mid-way and restarted (twice). Every acknowledged record is in the remote
bucket exactly once, because the redo of an interrupted batch puts the same keys again."""
import collections
import json
import os
import threading
import time

from conftest import REGION, Server
from s3_remote import S3RVER_KEYS, S3rver, remote_objects, s3_client
from test_delivery_crash import producer


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
