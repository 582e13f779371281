"""The seed pipe (orders-cdc-pipe): inserts, modifications and removals on OrdersRawTable reach
kinesis-for-sales-data once each, in order per key, as EventBridge Pipes delivers DynamoDB
stream records, readable with boto3 GetRecords."""
from pipe_helpers import assert_once_in_order, read_stream, table_history, wait_caught_up


def test_inserts_modifications_and_removals_arrive_once_in_order_per_key(server):
    ddb = server.client("dynamodb")
    for i in range(60):
        key = str(i % 17)  # repeats make MODIFY events
        ddb.put_item(TableName="OrdersRawTable",
                     Item={"orderid": {"S": key}, "product_name": {"S": "Laptop"},
                           "quantity": {"N": str(1 + i % 5)}, "price": {"N": f"{10 + i}.5"}})
        if i % 7 == 6:
            ddb.delete_item(TableName="OrdersRawTable", Key={"orderid": {"S": str(i % 17)}})
    history = table_history(server)
    names = {r["eventName"] for r in history}
    assert names == {"INSERT", "MODIFY", "REMOVE"}

    h = wait_caught_up(server, "orders-cdc-pipe")
    assert h["written"] == len(history) and h["filtered"] == 0 and h["failed"] == 0

    records = read_stream(server, "kinesis-for-sales-data")
    assert_once_in_order(records, [r["dynamodb"]["SequenceNumber"] for r in history])
    by_seq = {d["dynamodb"]["SequenceNumber"]: d for _, _, d in records}
    for r in history:  # the record is the stream record as DynamoDB Streams has it
        d = by_seq[r["dynamodb"]["SequenceNumber"]]
        assert d["eventName"] == r["eventName"] and d["eventSource"] == "aws:dynamodb"
        assert d["dynamodb"]["Keys"] == r["dynamodb"]["Keys"]
        assert d["eventSourceARN"].startswith(
            "arn:aws:dynamodb:us-east-1:000000000000:table/OrdersRawTable/stream/")
    assert len({shard for shard, _, _ in records}) == 2, "17 keys should use both shards"
