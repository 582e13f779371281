"""docs/compatibility.md stays true: every operation of every AWS API salespipe speaks is listed
once, and for the JSON services a running server is asked each operation: one it does not know
(UnknownOperationException) must be listed as not supported, one it answers must not be."""
import glob
import http.client
import json
import os
import re

from conftest import SOURCE

MODELS = "/usr/lib/python3/dist-packages/botocore/data"
DOC = os.path.join(SOURCE, "docs", "compatibility.md")
SERVICES = ["dynamodb", "dynamodbstreams", "kinesis", "firehose", "glue", "athena", "s3", "pipes"]
STATUSES = {"supported", "partial", "not supported"}


def model(service):
    path = sorted(glob.glob(f"{MODELS}/{service}/*/service-2.json"))[-1]
    with open(path) as f:
        return json.load(f)


def documented():
    """service -> {operation: status}, from the tables under headings naming botocore `service`."""
    rows, service = {}, None
    for line in open(DOC, encoding="utf-8"):
        m = re.match(r"## .*botocore `(\w+)`", line)
        if m:
            service = m.group(1)
            rows[service] = {}
            continue
        if line.startswith("## "):  # a section of its own (e.g. a conformance report)
            service = None
            continue
        m = re.match(r"\| (\w+) \| ([a-z ]+) \|", line)
        if m and service and m.group(1) != "operation":
            assert m.group(1) not in rows[service], f"{service} {m.group(1)} listed twice"
            assert m.group(2) in STATUSES, f"{service} {m.group(1)}: unknown status {m.group(2)!r}"
            rows[service][m.group(1)] = m.group(2)
    return rows


def test_every_operation_of_every_model_is_listed_once():
    rows = documented()
    for service in SERVICES:
        ops = set(model(service)["operations"])
        listed = set(rows.get(service, {}))
        assert ops - listed == set(), f"{service}: not in docs/compatibility.md: {sorted(ops - listed)}"
        assert listed - ops == set(), f"{service}: not in the model: {sorted(listed - ops)}"


def known_to_server(server, meta, operation):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request("POST", "/", body=b"{}", headers={
            "X-Amz-Target": f"{meta['targetPrefix']}.{operation}",
            "Content-Type": f"application/x-amz-json-{meta.get('jsonVersion', '1.0')}"})
        resp = conn.getresponse()
        body = resp.read().decode()
    finally:
        conn.close()
    kind = json.loads(body).get("__type", "") if body.startswith("{") else ""
    return not kind.endswith("UnknownOperationException")


def test_json_operations_answered_are_exactly_those_listed_as_supported(server):
    rows = documented()
    wrong = []
    for service in SERVICES:
        m = model(service)
        if m["metadata"]["protocol"] != "json":
            continue
        for op in sorted(m["operations"]):
            known = known_to_server(server, m["metadata"], op)
            listed = rows[service][op]
            if known != (listed != "not supported"):
                wrong.append(f"{service} {op}: server {'answers' if known else 'does not know'} it, "
                             f"docs say {listed}")
    assert wrong == [], "\n".join(wrong)
