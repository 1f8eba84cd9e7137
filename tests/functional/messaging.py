"""The credentials and addresses the functional suites give the Twilio and SMTP stand-ins,
and the test-side reading of the SQS queues that carry messages."""

import json

TWILIO_SID = "AC" + "1" * 32
TWILIO_TOKEN = "test-twilio-token"
FROM_NUMBER = "+15005550006"
PUBLIC_URL = "https://hat.example.com/api"


def take_queue(sqs, queue: str) -> list[dict]:
    """Take every message off the `hat-dev-<queue>` queue: their JSON bodies, in order."""
    url = sqs.get_queue_url(QueueName=f"hat-dev-{queue}")["QueueUrl"]
    taken = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not got:
            return taken
        for message in got:
            taken.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
