"""The seed's mock data generator, unchanged but for `endpoint_url`: it writes random orders
into the DynamoDB table OrdersRawTable with boto3's put_item, one every 3 seconds.

    python3 examples/mock_data_generator.py                 # forever, like the seed
    ORDERS=50 SLEEP=0 python3 examples/mock_data_generator.py   # 50 orders, no pause

Run `salespipe serve` first (or `make demo` to see the whole pipeline)."""
import os
import random
import time
from decimal import Decimal

import boto3

dynamodb = boto3.resource(
    "dynamodb",
    endpoint_url=os.environ.get("SALESPIPE_ENDPOINT", "http://127.0.0.1:4566"),  # the one change
    region_name="us-east-1",
    aws_access_key_id="test",
    aws_secret_access_key="test",
)
table = dynamodb.Table("OrdersRawTable")


def generate_order_data():
    orderid = str(random.randint(1, 10000))
    product_name = random.choice(["Laptop", "Phone", "Tablet", "Headphones", "Charger"])
    quantity = random.randint(1, 5)
    price = Decimal(str(round(random.uniform(10.0, 500.0), 2)))
    return {
        "orderid": orderid,
        "product_name": product_name,
        "quantity": quantity,
        "price": price,
    }


def insert_into_dynamodb(data):
    try:
        table.put_item(Item=data)
        print("Inserted data into DynamoDB:", data)
    except Exception as e:
        print("Error inserting data into DynamoDB:", e)
        raise


if __name__ == "__main__":
    remaining = int(os.environ.get("ORDERS", "0")) or None  # 0: forever, like the seed
    pause = float(os.environ.get("SLEEP", "3"))
    while remaining is None or remaining > 0:
        data = generate_order_data()
        insert_into_dynamodb(data)
        if remaining is not None:
            remaining -= 1
        time.sleep(pause)
