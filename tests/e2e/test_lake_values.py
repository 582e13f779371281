"""Values in the lake are written as the seed's Python Lambda writes them: a DynamoDB number
"128.92" is the JSON number 128.92 (its shortest round-trip form), not 128.91999999999999;
integral numbers stay integers; a value that needs 17 digits keeps them."""
import json
import os
import time

BUCKET = "kinesis-firehose-destination-yb"


def lake_texts(data_dir):
    texts = []
    for dirpath, _, files in os.walk(os.path.join(data_dir, "lake", BUCKET)):
        texts += [open(os.path.join(dirpath, f), encoding="utf-8").read()
                  for f in files if not f.startswith(".tmp-")]
    return "".join(texts)


def test_numbers_reach_the_lake_in_their_shortest_form(server):
    ddb = server.client("dynamodb")
    prices = {"1": "128.92", "2": "0.30000000000000004", "3": "10", "4": "1e3", "5": "-0.10"}
    for orderid, price in prices.items():
        ddb.put_item(TableName="OrdersRawTable", Item={
            "orderid": {"S": orderid}, "product_name": {"S": "Phone"},
            "quantity": {"N": "2"}, "price": {"N": price}})
    deadline = time.time() + 30
    while lake_texts(server.data_dir).count("\n") < len(prices) and time.time() < deadline:
        time.sleep(0.1)
    lines = [l for l in lake_texts(server.data_dir).splitlines() if l]
    assert len(lines) == len(prices)
    by_id = {json.loads(l)["orderid"]: l for l in lines}
    assert '"price":128.92,' in by_id["1"]
    assert '"price":0.30000000000000004,' in by_id["2"]
    assert '"price":10,' in by_id["3"]
    assert '"price":1000,' in by_id["4"]  # DynamoDB normalises 1e3 to 1000, an integer
    assert '"price":-0.1,' in by_id["5"]
    assert all('"quantity":2,' in l for l in lines)
    # and what Python reads back is what Python would have written (the seed's Lambda)
    for l in lines:
        rec = json.loads(l)
        assert json.dumps(rec["price"]) in l
