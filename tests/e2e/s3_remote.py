"""Helpers for tests whose delivery stream writes to a remote S3-compatible service: s3rver (the
npm S3 implementation, started here on 127.0.0.1) and reading a remote bucket back with boto3."""
import os
import socket
import subprocess
import time

import boto3
import botocore.config
import pytest

from conftest import REGION, SOURCE

S3RVER = os.path.join(SOURCE, "tools", "node_modules", "s3rver")
S3RVER_KEYS = ("S3RVER", "S3RVER")  # the keys s3rver checks signatures with


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class S3rver:
    """s3rver on a fixed loopback port and data directory, so it can be stopped and started
    again at the same address (the "endpoint down, then up" case)."""

    def __init__(self, directory, buckets=()):
        if not os.path.isdir(S3RVER):
            pytest.skip("tools/node_modules/s3rver is absent (scripts/deps.sh installs the npm "
                        "oracles)")
        self.directory = directory
        self.buckets = list(buckets)
        self.port = free_port()
        self.proc = None

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        args = ["node", os.path.join(S3RVER, "bin", "s3rver.js"), "--directory", self.directory,
                "--address", "127.0.0.1", "--port", str(self.port), "--silent"]
        for b in self.buckets:
            args += ["--configure-bucket", b]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"s3rver exited with {self.proc.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("s3rver never listened")

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None


def s3_client(endpoint, keys):
    cfg = botocore.config.Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"})
    return boto3.client("s3", endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id=keys[0], aws_secret_access_key=keys[1], config=cfg)


def remote_objects(s3, bucket):
    """{key: (bytes, etag)} of every object in the remote bucket."""
    out = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for o in page.get("Contents", []):
            r = s3.get_object(Bucket=bucket, Key=o["Key"])
            out[o["Key"]] = (r["Body"].read(), r["ETag"])
    return out


def until(fn, timeout=30, step=0.2):
    deadline = time.time() + timeout
    while True:
        v = fn()
        if v or time.time() > deadline:
            return v
        time.sleep(step)
