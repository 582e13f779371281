"""Disk full: salespipe on a data dir on a small tmpfs. Writing until space runs out gets
refused writes with an AWS-shaped error naming the cause (500/503), nothing acknowledged is
lost or corrupted, and once space is freed (a filler file this test created is deleted)
writes succeed again and the pipeline drains every acknowledged change into the lake by itself.
Needs root to mount the tmpfs; skipped with the reason otherwise."""
import json
import os
import subprocess
import tempfile
import time

import pytest
from botocore.exceptions import ClientError

from conftest import Server

TABLE = "OrdersRawTable"
BUCKET = "kinesis-firehose-destination-yb"
TMPFS_SIZE = "8m"
FILLER_BYTES = 2 << 20
PAYLOAD = "p" * 2000


@pytest.fixture
def small_disk():
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    d = tempfile.mkdtemp(prefix="salespipe-full-")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE}", "tmpfs", d],
                       capture_output=True)
    if r.returncode != 0:
        os.rmdir(d)
        pytest.skip(f"cannot mount a tmpfs: {r.stderr.decode().strip()}")
    try:
        yield d
    finally:
        subprocess.run(["umount", "-l", d])
        os.rmdir(d)


def lake_orderids(data_dir):
    """orderid -> set of cdc event types found in the lake's objects."""
    found = {}
    root = os.path.join(data_dir, "lake", BUCKET)
    for dirpath, _, files in os.walk(root):
        for f in files:
            if f.startswith("."):
                continue
            with open(os.path.join(dirpath, f), "rb") as fh:
                for line in fh.read().splitlines():
                    if not line.strip():
                        continue
                    rec = json.loads(line)
                    found.setdefault(rec.get("orderid"), set()).add(rec.get("cdc_event_type"))
    return found


def assert_full_error(e, codes):
    """A refusal AWS clients understand, naming the cause."""
    r = e.response
    assert r["ResponseMetadata"]["HTTPStatusCode"] in (500, 503), r
    assert r["Error"]["Code"] in codes, r
    msg = r["Error"]["Message"].lower()
    assert "full" in msg or "no space" in msg, r


def test_writes_refused_when_full_nothing_lost_and_resume_after(small_disk, tmp_path):
    data_dir = os.path.join(small_disk, "data")
    filler = os.path.join(small_disk, "filler")
    with open(filler, "wb") as f:
        f.write(b"\0" * FILLER_BYTES)
    s = Server(data_dir)
    s.log_path = str(tmp_path / "server.log")  # keep the log off the full disk
    s.start()
    try:
        ddb = s.client("dynamodb")
        acked, refused = [], []
        for i in range(20000):
            oid = f"full-{i}"
            try:
                ddb.put_item(TableName=TABLE, Item={"orderid": {"S": oid}, "pad": {"S": PAYLOAD},
                                                    "quantity": {"N": str(i % 5 + 1)}})
                acked.append(oid)
            except ClientError as e:
                refused.append(e)
                if len(refused) >= 5:
                    break
        assert refused, "the disk never filled up"
        for e in refused:
            assert_full_error(e, {"InternalServerError"})
        assert len(acked) > 10

        # The other doors refuse too (or, if a little room is left, acknowledge and keep).
        kin, s3 = s.client("kinesis"), s.client("s3")
        kin_acked, s3_acked = [], []
        for i in range(20):
            data = (f"kin-{i}-" + "k" * 100000).encode()
            try:
                kin.put_record(StreamName="kinesis-for-sales-data", Data=data, PartitionKey=str(i))
                kin_acked.append(data)
            except ClientError as e:
                assert_full_error(e, {"InternalFailure", "ServiceUnavailable"})
                break
        else:
            pytest.fail("Kinesis never refused a write on a full disk")
        for i in range(20):
            body = bytes([i]) * (512 << 10)
            try:
                s3.put_object(Bucket=BUCKET, Key=f"manual/{i}", Body=body)
                s3_acked.append((f"manual/{i}", body))
            except ClientError as e:
                assert_full_error(e, {"ServiceUnavailable", "InternalError"})
                break
        else:
            pytest.fail("S3 never refused a write on a full disk")

        # Every acknowledged item is readable, intact, while the disk is still full.
        for oid in acked:
            item = ddb.get_item(TableName=TABLE, Key={"orderid": {"S": oid}}, ConsistentRead=True)["Item"]
            assert item["pad"]["S"] == PAYLOAD
        assert s.health()["status"] == "ok"
        for key, body in s3_acked:
            assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == body
        got = set()
        for sh in kin.describe_stream(StreamName="kinesis-for-sales-data")["StreamDescription"]["Shards"]:
            it = kin.get_shard_iterator(StreamName="kinesis-for-sales-data", ShardId=sh["ShardId"],
                                        ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            while it:
                r = kin.get_records(ShardIterator=it, Limit=10000)
                got |= {rec["Data"] for rec in r["Records"]}
                it = r.get("NextShardIterator") if r["Records"] else None
        assert set(kin_acked) <= got

        # Free the space: writes work again and the pipeline catches up by itself.
        os.unlink(filler)
        more = []
        deadline = time.time() + 30
        while len(more) < 20 and time.time() < deadline:
            oid = f"after-{len(more)}"
            try:
                ddb.put_item(TableName=TABLE, Item={"orderid": {"S": oid}, "quantity": {"N": "1"}})
                more.append(oid)
            except ClientError:
                time.sleep(0.5)
        assert len(more) == 20, "writes did not resume after space was freed"
        want = set(acked) | set(more)
        deadline = time.time() + 120
        while time.time() < deadline:
            missing = want - set(lake_orderids(data_dir))
            if not missing:
                break
            time.sleep(1)
        assert not missing, f"{len(missing)} acknowledged changes never reached the lake, e.g. {sorted(missing)[:5]}\n{s.read_log()[-3000:]}"
        for oid, kinds in lake_orderids(data_dir).items():
            if oid in want:
                assert kinds == {"INSERT"}, (oid, kinds)
    finally:
        rc = s.stop()
    assert rc == 0, f"salespipe exited with {rc}\n{s.read_log()[-5000:]}"

    # After a restart everything acknowledged is still there.
    s = Server(data_dir)
    s.log_path = str(tmp_path / "server2.log")
    s.start()
    try:
        ddb = s.client("dynamodb")
        for oid in acked + more:
            assert ddb.get_item(TableName=TABLE, Key={"orderid": {"S": oid}}, ConsistentRead=True).get("Item"), oid
    finally:
        rc = s.stop()
    assert rc == 0, f"salespipe exited with {rc}\n{s.read_log()[-5000:]}"
