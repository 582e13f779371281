"""Writes a transaction's COMMIT marker (a control record batch) into a Kafka partition over the
wire, for the connector tests: librdkafka 2.0's mock cluster accepts transactions but writes no
markers, while a real broker puts one after every committed transaction (it takes an offset, so
a partition read to its end still has its high mark one past the last record)."""
import socket
import struct
import time

PRODUCE, PRODUCE_VERSION = 0, 3
ATTR_TRANSACTIONAL, ATTR_CONTROL = 0x10, 0x20
CONTROL_COMMIT = 1
NOT_LEADER_FOR_PARTITION = 6


def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC32C = _crc32c_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _CRC32C[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def varint(n):
    """Kafka's zigzag varint."""
    z = (n << 1) ^ (n >> 63)
    out = bytearray()
    while True:
        b = z & 0x7F
        z >>= 7
        if z:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def commit_marker_batch(producer_id=4242, producer_epoch=0):
    """A v2 record batch holding one COMMIT control record."""
    key = struct.pack(">hh", 0, CONTROL_COMMIT)          # version, type
    value = struct.pack(">hi", 0, 0)                     # version, coordinator epoch
    body = (b"\x00" + varint(0) + varint(0) + varint(len(key)) + key + varint(len(value)) + value
            + varint(0))
    record = varint(len(body)) + body
    now = int(time.time() * 1000)
    after_crc = struct.pack(">hiqqqhii", ATTR_TRANSACTIONAL | ATTR_CONTROL, 0, now, now,
                            producer_id, producer_epoch, -1, 1) + record
    after_length = struct.pack(">ibI", 0, 2, crc32c(after_crc)) + after_crc
    return struct.pack(">qi", 0, len(after_length)) + after_length


def _string(s):
    b = s.encode()
    return struct.pack(">h", len(b)) + b


def _produce_request(topic, partition, batch, correlation_id=1):
    header = struct.pack(">hhi", PRODUCE, PRODUCE_VERSION, correlation_id) + _string("sp-test")
    body = (struct.pack(">h", -1) + struct.pack(">hi", -1, 10000) + struct.pack(">i", 1)
            + _string(topic) + struct.pack(">i", 1) + struct.pack(">i", partition)
            + struct.pack(">i", len(batch)) + batch)
    msg = header + body
    return struct.pack(">i", len(msg)) + msg


def _read_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("broker closed the connection")
        buf += chunk
    return buf


def _produce_error(resp):
    """The partition's error code from a v3 ProduceResponse body (after the correlation id)."""
    (n_topics,) = struct.unpack_from(">i", resp, 0)
    assert n_topics == 1, n_topics
    (name_len,) = struct.unpack_from(">h", resp, 4)
    off = 6 + name_len
    (n_parts,) = struct.unpack_from(">i", resp, off)
    assert n_parts == 1, n_parts
    _, err = struct.unpack_from(">ih", resp, off + 4)
    return err


def append_commit_marker(bootstrap, topic, partition):
    """Appends a COMMIT marker to topic[partition] through whichever broker leads it."""
    errors = []
    for hostport in bootstrap.split(","):
        host, port = hostport.rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=10) as s:
            s.sendall(_produce_request(topic, partition, commit_marker_batch()))
            (size,) = struct.unpack(">i", _read_exact(s, 4))
            resp = _read_exact(s, size)
        err = _produce_error(resp[4:])
        if err == 0:
            return
        errors.append(err)
        if err != NOT_LEADER_FOR_PARTITION:
            break
    raise AssertionError(f"no broker took the marker for {topic}[{partition}]: errors {errors}")
