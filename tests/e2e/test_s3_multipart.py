"""S3 as the aws cli and the SDKs use it: multipart uploads (the cli switches to them above
8 MB), ETags that are the MD5 of the content (or S3's md5-of-md5s-N for multipart objects),
Content-MD5 and x-amz-checksum-* checks, aws-chunked bodies with trailing checksums, ranges."""
import base64
import hashlib
import http.client
import os
import re
import subprocess
import zlib

import pytest
from botocore.exceptions import ClientError

from conftest import BIN

BUCKET = "kinesis-firehose-destination-yb"
MiB = 1 << 20


def md5_hex(b):
    return hashlib.md5(b).hexdigest()


def multipart_etag(parts):
    return '"%s-%d"' % (hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest(),
                        len(parts))


def uploads_dir(server):
    return os.path.join(server.data_dir, "lake", ".uploads")


def upload_files(server):
    """Every file under the lake's upload area (parts and descriptions)."""
    found = []
    for root, _, files in os.walk(uploads_dir(server)):
        found += [os.path.join(root, f) for f in files]
    return found


def error_code(call):
    with pytest.raises(ClientError) as ei:
        call()
    return ei.value.response["Error"]["Code"], ei.value.response["Error"]["Message"]


def raw(server, method, path, body=b"", headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request(method, path, body=body, headers=headers or {})
    r = conn.getresponse()
    out = (r.status, dict(r.getheaders()), r.read())
    conn.close()
    return out


# ---- the aws cli -------------------------------------------------------------------------

def test_aws_cli_copies_20_mb_up_and_down_with_multipart(server, tmp_path):
    data = os.urandom(20 * MiB)
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    server.aws("s3", "cp", str(src), f"s3://{BUCKET}/big/big.bin")
    path = os.path.join(server.data_dir, "lake", BUCKET, "big/big.bin")
    assert open(path, "rb").read() == data
    # the cli cut it into 8 MiB parts: 8 + 8 + 4
    want = multipart_etag([data[:8 * MiB], data[8 * MiB:16 * MiB], data[16 * MiB:]])
    head = server.client("s3").head_object(Bucket=BUCKET, Key="big/big.bin")
    assert head["ETag"] == want and want.endswith('-3"')
    assert head["ContentLength"] == len(data)
    listed = server.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="big/")["Contents"]
    assert [(o["Key"], o["ETag"], o["Size"]) for o in listed] == [("big/big.bin", want, len(data))]
    dst = tmp_path / "back.bin"
    server.aws("s3", "cp", f"s3://{BUCKET}/big/big.bin", str(dst))
    assert dst.read_bytes() == data
    assert upload_files(server) == []  # the parts went with the completion


# ---- multipart with boto3 ------------------------------------------------------------------

def start(s3, key):
    return s3.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]


def test_boto3_multipart_round_trip_list_parts_and_uploads(server):
    s3 = server.client("s3")
    p1, p2 = os.urandom(5 * MiB), b"tail of the object"
    uid = start(s3, "mp/a.bin")
    assert re.fullmatch(r"[0-9a-f]{32}", uid)
    other = start(s3, "mp/b.bin")
    e1 = s3.upload_part(Bucket=BUCKET, Key="mp/a.bin", UploadId=uid, PartNumber=1, Body=p1)["ETag"]
    e2 = s3.upload_part(Bucket=BUCKET, Key="mp/a.bin", UploadId=uid, PartNumber=2, Body=p2)["ETag"]
    assert e1 == f'"{md5_hex(p1)}"' and e2 == f'"{md5_hex(p2)}"'

    parts = s3.list_parts(Bucket=BUCKET, Key="mp/a.bin", UploadId=uid)
    assert [(p["PartNumber"], p["ETag"], p["Size"]) for p in parts["Parts"]] == \
        [(1, e1, len(p1)), (2, e2, len(p2))]
    assert parts["IsTruncated"] is False
    page = s3.list_parts(Bucket=BUCKET, Key="mp/a.bin", UploadId=uid, MaxParts=1)
    assert [p["PartNumber"] for p in page["Parts"]] == [1] and page["IsTruncated"] is True
    page = s3.list_parts(Bucket=BUCKET, Key="mp/a.bin", UploadId=uid,
                         PartNumberMarker=page["NextPartNumberMarker"])
    assert [p["PartNumber"] for p in page["Parts"]] == [2]

    ups = s3.list_multipart_uploads(Bucket=BUCKET)["Uploads"]
    assert sorted((u["Key"], u["UploadId"]) for u in ups) == [("mp/a.bin", uid), ("mp/b.bin", other)]
    assert [u["Key"] for u in s3.list_multipart_uploads(Bucket=BUCKET, Prefix="mp/b")["Uploads"]] \
        == ["mp/b.bin"]

    r = s3.complete_multipart_upload(Bucket=BUCKET, Key="mp/a.bin", UploadId=uid,
                                     MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1},
                                                                {"PartNumber": 2, "ETag": e2}]})
    assert r["ETag"] == multipart_etag([p1, p2])
    got = s3.get_object(Bucket=BUCKET, Key="mp/a.bin")
    assert got["Body"].read() == p1 + p2 and got["ETag"] == r["ETag"]
    # completed: the upload is gone, the other one is still there
    assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=BUCKET)["Uploads"]] == [other]
    assert not os.path.exists(os.path.join(uploads_dir(server), uid))
    code, _ = error_code(lambda: s3.list_parts(Bucket=BUCKET, Key="mp/a.bin", UploadId=uid))
    assert code == "NoSuchUpload"


def assert_no_object(s3, key):
    code, _ = error_code(lambda: s3.head_object(Bucket=BUCKET, Key=key))
    assert code in ("404", "NoSuchKey")


def test_complete_refuses_wrong_etag_order_small_part_and_unknown_upload(server):
    s3 = server.client("s3")
    key = "mp/bad.bin"
    uid = start(s3, key)
    small, big, last = os.urandom(1 * MiB), os.urandom(5 * MiB), b"last"
    e1 = s3.upload_part(Bucket=BUCKET, Key=key, UploadId=uid, PartNumber=1, Body=small)["ETag"]
    e2 = s3.upload_part(Bucket=BUCKET, Key=key, UploadId=uid, PartNumber=2, Body=big)["ETag"]
    e3 = s3.upload_part(Bucket=BUCKET, Key=key, UploadId=uid, PartNumber=3, Body=last)["ETag"]

    def complete(parts, upload=uid):
        return lambda: s3.complete_multipart_upload(
            Bucket=BUCKET, Key=key, UploadId=upload,
            MultipartUpload={"Parts": [{"PartNumber": n, "ETag": t} for n, t in parts]})

    code, msg = error_code(complete([(2, '"' + "0" * 32 + '"'), (3, e3)]))
    assert code == "InvalidPart" and "could not be found" in msg
    code, _ = error_code(complete([(2, e2), (4, e3)]))  # part 4 was never uploaded
    assert code == "InvalidPart"
    code, msg = error_code(complete([(3, e3), (2, e2)]))
    assert code == "InvalidPartOrder" and "ascending order" in msg
    code, _ = error_code(complete([(2, e2), (2, e2)]))
    assert code == "InvalidPartOrder"
    code, msg = error_code(complete([(1, e1), (2, e2), (3, e3)]))  # part 1 is 1 MiB
    assert code == "EntityTooSmall" and "smaller than the minimum allowed" in msg
    code, msg = error_code(complete([(2, e2), (3, e3)], upload="0" * 32))
    assert code == "NoSuchUpload" and "does not exist" in msg
    assert_no_object(s3, key)
    # after the refusals the upload is intact and can still complete
    r = s3.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=uid,
                                     MultipartUpload={"Parts": [{"PartNumber": 2, "ETag": e2},
                                                                {"PartNumber": 3, "ETag": e3.strip('"')}]})
    assert r["ETag"] == multipart_etag([big, last])
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == big + last


def test_complete_refuses_malformed_xml_and_a_foreign_key(server):
    s3 = server.client("s3")
    uid = start(s3, "mp/x.bin")
    s3.upload_part(Bucket=BUCKET, Key="mp/x.bin", UploadId=uid, PartNumber=1, Body=b"x")
    for body in (b"", b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part>"
                      b"</CompleteMultipartUpload>", b"<Other/>", b"<CompleteMultipartUpload>"):
        status, _, out = raw(server, "POST", f"/{BUCKET}/mp/x.bin?uploadId={uid}", body)
        assert status == 400 and b"<Code>MalformedXML</Code>" in out, out
    # the upload belongs to its own key: another key of the bucket does not see it
    status, _, out = raw(server, "GET", f"/{BUCKET}/mp/other.bin?uploadId={uid}")
    assert status == 404 and b"<Code>NoSuchUpload</Code>" in out
    code, _ = error_code(lambda: s3.upload_part(Bucket=BUCKET, Key="mp/x.bin", UploadId=uid,
                                                PartNumber=10001, Body=b"x"))
    assert code == "InvalidArgument"
    code, _ = error_code(lambda: s3.upload_part(Bucket=BUCKET, Key="mp/x.bin", UploadId=uid,
                                                PartNumber=0, Body=b"x"))
    assert code == "InvalidArgument"


def test_abort_removes_the_parts_from_disk(server):
    s3 = server.client("s3")
    uid = start(s3, "mp/aborted.bin")
    s3.upload_part(Bucket=BUCKET, Key="mp/aborted.bin", UploadId=uid, PartNumber=1, Body=b"a" * 1000)
    s3.upload_part(Bucket=BUCKET, Key="mp/aborted.bin", UploadId=uid, PartNumber=2, Body=b"b")
    assert len([f for f in upload_files(server) if "part-" in f]) == 2
    s3.abort_multipart_upload(Bucket=BUCKET, Key="mp/aborted.bin", UploadId=uid)
    assert upload_files(server) == []
    assert os.listdir(uploads_dir(server)) == []
    code, _ = error_code(lambda: s3.abort_multipart_upload(Bucket=BUCKET, Key="mp/aborted.bin",
                                                           UploadId=uid))
    assert code == "NoSuchUpload"
    assert_no_object(s3, "mp/aborted.bin")


def test_hostile_upload_ids_are_no_such_upload_and_touch_nothing(server, tmp_path):
    s3 = server.client("s3")
    uid = start(s3, "mp/h.bin")  # a real upload whose files must survive
    s3.upload_part(Bucket=BUCKET, Key="mp/h.bin", UploadId=uid, PartNumber=1, Body=b"keep")
    before = sorted(upload_files(server))
    outside = os.path.join(server.data_dir, "lake", "x")
    for bad in ("../x", "../../x", "x" * 5000, uid.upper(), uid + "/..", "..%2Fx",
                f"../{BUCKET}", ""):
        for method, body in (("PUT", b"evil"), ("POST", b"<CompleteMultipartUpload/>"),
                             ("GET", b""), ("DELETE", b"")):
            q = "partNumber=1&" if method == "PUT" else ""
            status, _, out = raw(server, method,
                                 f"/{BUCKET}/mp/h.bin?{q}uploadId={bad.replace('/', '%2F')}", body)
            assert status == 404 and b"<Code>NoSuchUpload</Code>" in out, (bad, method, out)
    assert sorted(upload_files(server)) == before
    assert not os.path.exists(outside)
    assert not os.path.exists(os.path.join(server.data_dir, "x"))
    assert sorted(os.listdir(os.path.join(server.data_dir, "lake"))) == [".uploads", BUCKET]


def test_listing_and_the_crawler_do_not_see_uploads_in_progress(server, data_dir):
    s3 = server.client("s3")
    s3.put_object(Bucket=BUCKET, Key="2026/01/02/03/done.json",
                  Body=b'{"orderid":"1","price":10.5}\n')
    uid = start(s3, "2026/01/02/03/pending.json")
    s3.upload_part(Bucket=BUCKET, Key="2026/01/02/03/pending.json", UploadId=uid, PartNumber=1,
                   Body=b'{"orderid":"2","price":99.0,"secret":true}\n')
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert keys == ["2026/01/02/03/done.json"]
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == [BUCKET]
    assert server.stop() == 0
    out = subprocess.run([BIN, "crawl", "--data-dir", data_dir], capture_output=True, timeout=120)
    assert out.returncode == 0, out.stderr.decode()
    assert re.search(rb"objects read 1\b", out.stdout), out.stdout
    q = subprocess.run([BIN, "query", "SELECT count(*) AS n FROM sales_db.kinesis_firehose_destination_yb",
                        "--format", "csv", "--data-dir", data_dir], capture_output=True, timeout=120)
    assert q.returncode == 0 and q.stdout.split()[-1] == b"1", q.stdout + q.stderr


# ---- ETags and integrity checks -------------------------------------------------------------

def test_put_object_etag_is_the_md5_of_the_body(server):
    s3 = server.client("s3")
    body = os.urandom(100_000)
    r = s3.put_object(Bucket=BUCKET, Key="etag/a.bin", Body=body)
    assert r["ETag"] == f'"{md5_hex(body)}"'
    assert s3.head_object(Bucket=BUCKET, Key="etag/a.bin")["ETag"] == r["ETag"]
    assert s3.get_object(Bucket=BUCKET, Key="etag/a.bin")["ETag"] == r["ETag"]
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix="etag/")["Contents"][0]["ETag"] == r["ETag"]
    # empty objects too
    assert s3.put_object(Bucket=BUCKET, Key="etag/empty", Body=b"")["ETag"] == f'"{md5_hex(b"")}"'


DELIVERY_CONFIG = """
buckets:
  - name: test-bucket
delivery_streams:
  - name: direct-plain
    bucket: test-bucket
    buffer_interval_seconds: 1
    append_delimiter: true
"""


def test_delivery_objects_carry_their_md5_etag(make_server):
    """Objects the delivery stream writes (lake_object_put) get the same ETag as PutObject's."""
    import time
    server = make_server(DELIVERY_CONFIG).start()
    server.client("firehose").put_record(DeliveryStreamName="direct-plain",
                                         Record={"Data": b'{"orderid":"7"}'})
    s3 = server.client("s3")
    deadline = time.time() + 30
    objs = []
    while time.time() < deadline and not objs:
        objs = s3.list_objects_v2(Bucket="test-bucket").get("Contents", [])
        time.sleep(0.2)
    assert objs, "the delivery stream wrote nothing"
    path = os.path.join(server.data_dir, "lake", "test-bucket", objs[0]["Key"])
    assert objs[0]["ETag"] == f'"{md5_hex(open(path, "rb").read())}"'


def test_objects_without_a_stored_etag_fall_back_to_a_derived_one(server):
    """A file put into the bucket directory by another tool still lists, with an ETag."""
    d = os.path.join(server.data_dir, "lake", BUCKET, "old")
    os.makedirs(d)
    with open(os.path.join(d, "o.json"), "wb") as f:
        f.write(b"{}\n")
    o = server.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="old/")["Contents"][0]
    assert re.fullmatch(r'"[0-9a-f]{32}"', o["ETag"])


def test_content_md5_is_checked(server):
    s3 = server.client("s3")
    body = b"checked body"
    good = base64.b64encode(hashlib.md5(body).digest()).decode()
    s3.put_object(Bucket=BUCKET, Key="md5/good", Body=body, ContentMD5=good)
    bad = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    code, msg = error_code(lambda: s3.put_object(Bucket=BUCKET, Key="md5/bad", Body=body,
                                                 ContentMD5=bad))
    assert code == "BadDigest" and "did not match" in msg
    assert_no_object(s3, "md5/bad")
    status, _, out = raw(server, "PUT", f"/{BUCKET}/md5/invalid", body, {"Content-MD5": "nope"})
    assert status == 400 and b"<Code>InvalidDigest</Code>" in out
    assert_no_object(s3, "md5/invalid")
    # and on UploadPart
    uid = start(s3, "md5/part")
    code, _ = error_code(lambda: s3.upload_part(Bucket=BUCKET, Key="md5/part", UploadId=uid,
                                                PartNumber=1, Body=body, ContentMD5=bad))
    assert code == "BadDigest"
    assert s3.list_parts(Bucket=BUCKET, Key="md5/part", UploadId=uid).get("Parts", []) == []


def crc32_b64(b):
    return base64.b64encode(zlib.crc32(b).to_bytes(4, "big")).decode()


def test_boto3_checksum_crc32_is_checked(server):
    s3 = server.client("s3")
    body = b"a body with a CRC32" * 100
    r = s3.put_object(Bucket=BUCKET, Key="ck/crc32", Body=body, ChecksumAlgorithm="CRC32")
    assert r["ChecksumCRC32"] == crc32_b64(body)
    assert s3.get_object(Bucket=BUCKET, Key="ck/crc32")["Body"].read() == body
    for alg, fn in (("SHA256", lambda b: hashlib.sha256(b).digest()),
                    ("SHA1", lambda b: hashlib.sha1(b).digest())):
        s3.put_object(Bucket=BUCKET, Key=f"ck/{alg}", Body=body, ChecksumAlgorithm=alg)
        wrong = base64.b64encode(fn(b"tampered")).decode()
        code, msg = error_code(lambda: s3.put_object(Bucket=BUCKET, Key=f"ck/{alg}-bad", Body=body,
                                                     **{f"Checksum{alg}": wrong}))
        assert code == "BadDigest" and msg == f"The {alg} you specified did not match the calculated checksum."
        assert_no_object(s3, f"ck/{alg}-bad")
    code, msg = error_code(lambda: s3.put_object(Bucket=BUCKET, Key="ck/bad", Body=body,
                                                 ChecksumCRC32=crc32_b64(b"tampered")))
    assert code == "BadDigest"
    assert msg == "The CRC32 you specified did not match the calculated checksum."
    assert_no_object(s3, "ck/bad")


def test_boto3_put_object_over_its_aws_chunked_trailer_path(server, monkeypatch):
    """boto3 over http sends x-amz-checksum-crc32 as a header (tested above); over https it
    sends aws-chunked with the CRC32 in a trailer. Make it take that path here."""
    from botocore import httpchecksum
    orig = httpchecksum.resolve_request_checksum_algorithm

    def as_if_https(request, *a, **kw):
        url = request["url"]
        request["url"] = "https:" + url[len("http:"):]
        try:
            return orig(request, *a, **kw)
        finally:
            request["url"] = url

    monkeypatch.setattr(httpchecksum, "resolve_request_checksum_algorithm", as_if_https)
    s3 = server.client("s3")
    sent = []

    tampered = []

    def tamper(request, **_):
        sent.append(dict(request.headers))
        if "tampered" in request.url:
            if not tampered:  # botocore may send (and so call this) more than once
                body = request.body.read()
                head, _, value = body.rstrip(b"\r\n").rpartition(b":")
                tampered.append(head + b":" + crc32_b64(b"other").encode() + b"\r\n\r\n")
            request.body = tampered[0]
            request.headers.pop("Transfer-Encoding", None)  # now a body of known length
            request.headers["Content-Length"] = str(len(tampered[0]))

    s3.meta.events.register("before-send.s3.PutObject", tamper)
    body = os.urandom(3 * MiB + 17)  # several 1 MiB chunks of botocore's encoder
    r = s3.put_object(Bucket=BUCKET, Key="trailer/ok", Body=body, ChecksumAlgorithm="CRC32")
    assert sent[0]["Content-Encoding"] == b"aws-chunked" or sent[0]["Content-Encoding"] == "aws-chunked"
    assert r["ETag"] == f'"{md5_hex(body)}"' and r["ChecksumCRC32"] == crc32_b64(body)
    assert s3.get_object(Bucket=BUCKET, Key="trailer/ok")["Body"].read() == body
    code, msg = error_code(lambda: s3.put_object(Bucket=BUCKET, Key="trailer/tampered", Body=body,
                                                 ChecksumAlgorithm="CRC32"))
    assert code == "BadDigest" and "CRC32" in msg, msg
    assert_no_object(s3, "trailer/tampered")


def test_raw_checksum_headers_crc32c_and_crc64nvme(server):
    body = b"123456789"
    # CRC32C("123456789") = e3069283, CRC64/NVME("123456789") = ae8b14860a799888
    ok32c = base64.b64encode(bytes.fromhex("e3069283")).decode()
    ok64 = base64.b64encode(bytes.fromhex("ae8b14860a799888")).decode()
    assert raw(server, "PUT", f"/{BUCKET}/ck/c", body, {"x-amz-checksum-crc32c": ok32c})[0] == 200
    assert raw(server, "PUT", f"/{BUCKET}/ck/n", body, {"x-amz-checksum-crc64nvme": ok64})[0] == 200
    status, _, out = raw(server, "PUT", f"/{BUCKET}/ck/c2", body + b"!", {"x-amz-checksum-crc32c": ok32c})
    assert status == 400 and b"<Code>BadDigest</Code>" in out and b"The CRC32C you specified" in out
    status, _, out = raw(server, "PUT", f"/{BUCKET}/ck/c3", body, {"x-amz-checksum-crc32": "!!"})
    assert status == 400 and b"<Code>InvalidRequest</Code>" in out


def chunked(payload, chunk=7, trailer=None):
    out = b""
    for i in range(0, len(payload), chunk):
        piece = payload[i:i + chunk]
        out += b"%x\r\n" % len(piece) + piece + b"\r\n"
    out += b"0\r\n"
    if trailer:
        out += trailer + b"\r\n"
    return out + b"\r\n"


def chunked_headers(payload, trailer="x-amz-checksum-crc32", sha="STREAMING-UNSIGNED-PAYLOAD-TRAILER"):
    h = {"Content-Encoding": "aws-chunked", "x-amz-content-sha256": sha,
         "x-amz-decoded-content-length": str(len(payload))}
    if trailer:
        h["x-amz-trailer"] = trailer
    return h


def test_aws_chunked_body_with_trailing_checksum(server):
    s3 = server.client("s3")
    payload = b"decoded bytes of an aws-chunked upload, " * 20
    good = b"x-amz-checksum-crc32:" + crc32_b64(payload).encode()
    status, headers, out = raw(server, "PUT", f"/{BUCKET}/chunked/ok", chunked(payload, trailer=good),
                               chunked_headers(payload))
    assert status == 200, out
    assert headers["ETag"] == f'"{md5_hex(payload)}"'
    assert s3.get_object(Bucket=BUCKET, Key="chunked/ok")["Body"].read() == payload

    bad = b"x-amz-checksum-crc32:" + crc32_b64(b"tampered").encode()
    status, _, out = raw(server, "PUT", f"/{BUCKET}/chunked/bad", chunked(payload, trailer=bad),
                         chunked_headers(payload))
    assert status == 400 and b"<Code>BadDigest</Code>" in out
    assert_no_object(s3, "chunked/bad")
    # announced trailer missing; wrong decoded length; broken framing
    status, _, out = raw(server, "PUT", f"/{BUCKET}/chunked/bad", chunked(payload), chunked_headers(payload))
    assert status == 400 and b"<Code>IncompleteBody</Code>" in out
    h = chunked_headers(payload)
    h["x-amz-decoded-content-length"] = str(len(payload) + 1)
    status, _, out = raw(server, "PUT", f"/{BUCKET}/chunked/bad", chunked(payload, trailer=good), h)
    assert status == 400 and b"<Code>IncompleteBody</Code>" in out
    status, _, out = raw(server, "PUT", f"/{BUCKET}/chunked/bad", b"zz\r\nabc\r\n0\r\n\r\n",
                         chunked_headers(b"abc", trailer=None))
    assert status == 400 and b"<Code>InvalidRequest</Code>" in out
    status, _, out = raw(server, "PUT", f"/{BUCKET}/chunked/bad", b"ffffff\r\nabc\r\n0\r\n\r\n",
                         chunked_headers(b"abc", trailer=None))
    assert status == 400 and b"<Code>InvalidRequest</Code>" in out
    assert_no_object(s3, "chunked/bad")


def test_aws_chunked_signed_chunks_and_upload_part(server):
    """STREAMING-AWS4-HMAC-SHA256-PAYLOAD framing (chunk signatures; SigV4 is not configured
    here, so they are not checked) and an aws-chunked UploadPart."""
    s3 = server.client("s3")
    payload = b"signed-chunk framing " * 10
    sig = b";chunk-signature=" + b"0" * 64
    body = b"%x" % len(payload) + sig + b"\r\n" + payload + b"\r\n0" + sig + b"\r\n\r\n"
    status, _, out = raw(server, "PUT", f"/{BUCKET}/chunked/signed", body,
                         chunked_headers(payload, trailer=None, sha="STREAMING-AWS4-HMAC-SHA256-PAYLOAD"))
    assert status == 200, out
    assert s3.get_object(Bucket=BUCKET, Key="chunked/signed")["Body"].read() == payload
    uid = start(s3, "chunked/part")
    good = b"x-amz-checksum-crc32:" + crc32_b64(payload).encode()
    status, headers, out = raw(server, "PUT", f"/{BUCKET}/chunked/part?partNumber=1&uploadId={uid}",
                               chunked(payload, trailer=good), chunked_headers(payload))
    assert status == 200 and headers["ETag"] == f'"{md5_hex(payload)}"', out


# ---- ranges --------------------------------------------------------------------------------

def test_range_forms_and_unsatisfiable_ranges(server):
    s3 = server.client("s3")
    body = bytes(range(100))
    s3.put_object(Bucket=BUCKET, Key="range/r", Body=body)
    get = lambda rng: s3.get_object(Bucket=BUCKET, Key="range/r", Range=rng)
    r = get("bytes=10-19")
    assert r["Body"].read() == body[10:20] and r["ContentRange"] == "bytes 10-19/100"
    assert get("bytes=90-")["Body"].read() == body[90:]
    assert get("bytes=-5")["Body"].read() == body[95:]
    assert get("bytes=-500")["Body"].read() == body
    assert get("bytes=95-1000")["Body"].read() == body[95:]
    for bad in ("bytes=100-", "bytes=200-300", "bytes=-0"):
        code, _ = error_code(lambda: get(bad))
        assert code == "InvalidRange", bad
    status, headers, _ = raw(server, "GET", f"/{BUCKET}/range/r", headers={"Range": "bytes=100-"})
    assert status == 416 and headers["Content-Range"] == "bytes */100"
    # a Range that is not one byte range is ignored: the whole object
    for ignored in ("bytes=5-2", "items=0-1", "bytes=a-b", "bytes=0-1,5-6", "bytes= 1-2"):
        status, _, out = raw(server, "GET", f"/{BUCKET}/range/r", headers={"Range": ignored})
        assert status == 200 and out == body, ignored
