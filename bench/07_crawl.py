#!/usr/bin/env python3
"""crawl: a full crawl over 10 000 lake objects (delivery's layout, dynamodb-cdc lines) into a
fresh catalog, then an incremental recrawl after 1 % new objects (100, in a new hour
partition). `salespipe crawl` is timed as a whole process each time; its report says how many
objects it read and skipped. There is no peer: the line compares salespipe with itself (its
`comparison` says so), its ratio being recrawl time / full crawl time (AWS Glue crawlers take
about a minute at minimum either way)."""
import os
import subprocess
import tempfile
import time

from benchlib import BIN, emit, write_cdc_lake

OBJECTS = int(os.environ.get("BENCH_CRAWL_OBJECTS", "10000"))
ROWS_PER_OBJECT = 10
HOURS = 20
BUCKET = "kinesis-firehose-destination-yb"
DAY = (2026, 11, 25)


def crawl(data):
    t0 = time.perf_counter()
    out = subprocess.run([BIN, "crawl", "--data-dir", data], capture_output=True, text=True,
                         check=True).stdout
    ms = (time.perf_counter() - t0) * 1000
    # "crawler sales-crawler: ..., objects read N, objects skipped M, ..."
    fields = dict(part.strip().rsplit(" ", 1) for part in out.splitlines()[0].split(":", 1)[1]
                  .split(",") if part.strip()[-1:].isdigit())
    return ms, int(fields["objects read"]), int(fields["objects skipped"])


def main():
    per_hour = OBJECTS // HOURS
    new = OBJECTS // 100
    with tempfile.TemporaryDirectory() as d:
        data = os.path.join(d, "data")
        root = os.path.join(data, "lake", BUCKET)
        write_cdc_lake(root, OBJECTS * ROWS_PER_OBJECT, DAY, HOURS, per_hour)
        full_ms, full_read, _ = crawl(data)
        write_cdc_lake(root, new * ROWS_PER_OBJECT, DAY, 1, new, seed=7, first_hour=HOURS,
                       first_seq=OBJECTS * ROWS_PER_OBJECT)
        inc_ms, inc_read, inc_skipped = crawl(data)
    assert full_read == OBJECTS and inc_read == new, (full_read, inc_read)
    emit("crawl", "ms", inc_ms, "self: full crawl", full_ms, objects=OBJECTS, new_objects=new,
         comparison="self: salespipe's incremental recrawl vs its own full crawl of the same "
                    "lake (no local peer crawls a lake into a Glue catalog)",
         full_objects_read=full_read, recrawl_objects_read=inc_read,
         recrawl_objects_skipped=inc_skipped,
         note="ratio = recrawl time / full crawl time (lower is better)",
         durability="n/a")  # reads the lake, writes only the catalog


if __name__ == "__main__":
    main()
