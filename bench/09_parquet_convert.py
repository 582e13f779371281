#!/usr/bin/env python3
"""parquet-convert: records/s a delivery stream delivers with record format conversion to
Parquet (`format: parquet`, the configuration file's DataFormatConversionConfiguration) vs the
same stream writing JSON lines, in one server, same records; plus the bytes on disk per record
of the Parquet objects vs the same records as gzip'd JSON lines.

Three Direct PUT delivery streams with the same configuration (dynamodb-cdc processor, buffer
interval 0, 5 MB buffer) except the output: JSON lines, JSON lines with `compression: GZIP`,
Parquet (SNAPPY pages, the default; no dictionary, Firehose's default; schema table made from
the dynamodb-cdc columns) and Parquet with `parquet_compression: ZSTD` (reported beside).
Each gets the same DynamoDB Streams records through PutRecordBatch (500 per call) and is timed
from its first put until health reports every record out, one stream after the other so none
competes with another (bench/05_transform.py's pattern). Bytes are the lake objects' sizes on
disk (apparent size, summed over each stream's prefix) divided by the records."""
import base64
import json
import os
import random
import sys
import tempfile

from benchlib import ROOT, SERVE_ARGS, Server, emit, firehose_timed

sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
from test_delivery_kinesis import stream_record  # noqa: E402

RECORDS = int(os.environ.get("BENCH_PARQUET_RECORDS", "100000"))
BUCKET = "bench-bucket"
STREAMS = (("as_json", "json/", {}), ("as_json_gzip", "jsongz/", {"compression": "GZIP"}),
           ("as_parquet", "parquet/", {"format": "parquet"}),
           ("as_parquet_zstd", "parquetzstd/",
            {"format": "parquet", "parquet_compression": "ZSTD"}))


def config():
    out = f"buckets:\n  - name: {BUCKET}\ndelivery_streams:\n"
    for name, prefix, extra in STREAMS:
        out += (f"  - name: {name}\n    bucket: {BUCKET}\n    prefix: {prefix}\n"
                f"    buffer_interval_seconds: 0\n    buffer_size_mb: 5\n"
                f"    processors: {json.dumps([{'type': 'dynamodb-cdc'}])}\n")
        out += "".join(f"    {k}: {v}\n" for k, v in extra.items())
    return out


def prefix_bytes(data, prefix):
    """Sum of the object sizes and the object count under bucket/prefix."""
    total = n = 0
    for dirpath, _, files in os.walk(os.path.join(data, "lake", BUCKET, prefix)):
        for f in files:
            total += os.path.getsize(os.path.join(dirpath, f))
            n += 1
    return total, n


def main():
    # Seed-shaped changes with write_cdc_lake's value ranges (random, seeded): orders
    # 1..10000, five products, quantity 1..5, price 10.00..500.00.
    rng = random.Random(9)
    products = ["Laptop", "Phone", "Tablet", "Headphones", "Charger"]
    recs = [json.dumps(stream_record(rng.choice(["INSERT", "MODIFY", "REMOVE"]),
                                     str(rng.randint(1, 10000)), rng.choice(products),
                                     rng.randint(1, 5), f"{rng.randint(1000, 50000) / 100:.2f}",
                                     f"{i + 1:021d}", 1700000000 + i)).encode()
            for i in range(RECORDS)]
    batches = [[{"Data": base64.b64encode(d).decode()} for d in recs[i:i + 500]]
               for i in range(0, RECORDS, 500)]
    rate, size, objects = {}, {}, {}
    with tempfile.TemporaryDirectory() as d:
        data = os.path.join(d, "data")
        os.makedirs(data)
        cfg = os.path.join(d, "salespipe.yaml")
        with open(cfg, "w") as f:
            f.write(config())
        srv = Server(data, config=cfg, extra_args=SERVE_ARGS).start()
        try:
            for name, prefix, _ in STREAMS:
                rate[name] = firehose_timed(srv, name, batches, RECORDS)
                size[name], objects[name] = prefix_bytes(data, prefix)
        finally:
            assert srv.stop() == 0
    per = {n: round(size[n] / RECORDS, 2) for n in size}
    emit("parquet-convert", "records/s", rate["as_parquet"], "self: json-lines",
         rate["as_json"],
         comparison="self: the same salespipe delivery stream writing JSON lines",
         records=RECORDS, json_gzip_records_per_s=round(rate["as_json_gzip"], 2),
         parquet_zstd_records_per_s=round(rate["as_parquet_zstd"], 2),
         objects={n: objects[n] for n in objects},
         note="same delivery stream configuration but the output; from the first "
              "PutRecordBatch (500 per call, one keep-alive connection) to the last record out")
    # Lower is better here: ratio = Parquet bytes per record / gzip'd JSON lines' (report).
    emit("parquet-size", "bytes/record", per["as_parquet"], "self: json-lines-gzip",
         per["as_json_gzip"],
         comparison="self: the same records as salespipe's gzip'd JSON lines objects", records=RECORDS, json_lines_bytes_per_record=per["as_json"],
         parquet_codec="SNAPPY", parquet_zstd_bytes_per_record=per["as_parquet_zstd"],
         objects={n: objects[n] for n in objects},
         note="lake object bytes on disk / records; ratio = parquet / gzip'd JSON lines")


if __name__ == "__main__":
    main()
