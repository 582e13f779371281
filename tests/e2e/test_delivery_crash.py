"""Exactly once across SIGKILL: records are put while the server delivers with interval 0 (a
flush, and so an intent, after nearly every read); the server is killed mid-way and restarted
(twice). Every acknowledged record is in the lake exactly once; a record whose request was
cut by the kill is there at most once."""
import collections
import json
import threading
import time

import botocore.exceptions

from test_delivery_direct import lake_objects, plain_lines

CONFIG = """
buckets:
  - name: test-bucket
delivery_streams:
  - name: crashy
    bucket: test-bucket
    buffer_interval_seconds: 0
    append_delimiter: true
"""


def producer(fh, start, acked, unsure, stop):
    i = start
    while not stop.is_set():
        batch = [json.dumps({"id": i + k}) for k in range(20)]
        try:
            fh.put_record_batch(DeliveryStreamName="crashy",
                                Records=[{"Data": b.encode()} for b in batch])
            acked.update(range(i, i + 20))
        except Exception:  # the kill cut this request: it may or may not have been stored
            unsure.update(range(i, i + 20))
            return
        i += 20


def count_ids(data_dir):
    counts = collections.Counter()
    for path in lake_objects(data_dir).values():
        for l in plain_lines(path):
            counts[json.loads(l)["id"]] += 1
    return counts


def test_sigkill_during_delivery_keeps_every_record_exactly_once(make_server, data_dir):
    acked, unsure = set(), set()
    start = 0
    for round_ in range(2):
        server = make_server(CONFIG).start()
        fh = server.client("firehose")
        stop = threading.Event()
        t = threading.Thread(target=producer, args=(fh, start, acked, unsure, stop))
        t.start()
        time.sleep(1.5 + 0.3 * round_)
        server.kill()
        stop.set()
        t.join()
        start += 100000
    server = make_server(CONFIG).start()
    deadline = time.time() + 20
    while time.time() < deadline:
        counts = count_ids(data_dir)
        if acked <= set(counts):
            break
        time.sleep(0.2)
    assert server.stop() == 0
    counts = count_ids(data_dir)
    assert len(acked) > 100
    missing = acked - set(counts)
    assert not missing, f"{len(missing)} acknowledged records lost"
    dups = {k: c for k, c in counts.items() if c != 1}
    assert not dups, f"duplicates: {list(dups.items())[:10]}"
    assert set(counts) <= acked | unsure
