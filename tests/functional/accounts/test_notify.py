"""The sms/email workers with the real Twilio client and real SMTP, retries, the DLQ, status callbacks."""
import base64
import json
from urllib.parse import urlencode

from tests.functional.messaging import FROM_NUMBER, PUBLIC_URL, TWILIO_SID, TWILIO_TOKEN

from .conftest import error_of, post

SMS = {"channel": "sms", "destination": "+8613800138000", "purpose": "register"}
EMAIL = {"channel": "email", "destination": "alice@example.com", "purpose": "register"}


def deliveries(aws) -> list[dict]:
    return aws("dynamodb").scan(TableName="hat-dev-deliveries", ConsistentRead=True)["Items"]


def queue_depth(sqs, name: str) -> int:
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return sum(int(value) for value in attributes.values())


def test_the_real_twilio_client_request_as_twilio_receives_it(client, notify, aws):
    assert post(client, "/auth/codes", SMS).status_code == 202
    assert notify.deliver() == 1
    request, = notify.twilio.requests
    assert request["path"] == f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
    assert request["user"] == TWILIO_SID  # HTTP basic auth, as api.twilio.com wants
    form = request["form"]
    assert form["To"] == "+8613800138000" and form["From"] == FROM_NUMBER
    assert "verification code is" in form["Body"] and notify.codes_to("+8613800138000")
    job_id = form["StatusCallback"].rsplit("=", 1)[1]
    assert form["StatusCallback"] == f"{PUBLIC_URL}/hooks/twilio/status?job={job_id}"
    record, = deliveries(aws)
    assert record["id"]["S"] == job_id and record["status"]["S"] == "queued"
    assert record["provider_id"]["S"].startswith("SM") and record["to"]["S"] == "+86138****8000"


def test_basic_auth_carries_sid_and_token(notify):
    """The stand-in records the user; check the whole header on a raw request too."""
    from chalicelib.notify.sms import twilio_client

    sent = {}
    http_client = twilio_client().http_client
    original = http_client.session.send

    def spy(prepared, **kwargs):
        sent["authorization"] = prepared.headers["Authorization"]
        return original(prepared, **kwargs)

    http_client.session.send = spy
    try:
        from chalicelib.notify.sms import send_sms

        send_sms("+8613800138000", "hello")
    finally:
        http_client.session.send = original
    credentials = base64.b64encode(f"{TWILIO_SID}:{TWILIO_TOKEN}".encode()).decode()
    assert sent["authorization"] == f"Basic {credentials}"


def test_a_failing_twilio_retries_then_dead_letters(client, notify, aws):
    notify.twilio.fail_next(3, status=500)
    assert post(client, "/auth/codes", SMS).status_code == 202
    handled = notify.deliver(rounds=4)  # the 4th round finds it gone to the DLQ
    assert handled == 3
    assert len(notify.twilio.requests) == 3
    assert notify.outbox == [] and deliveries(aws) == []
    sqs = aws("sqs")
    assert queue_depth(sqs, "hat-dev-sms") == 0
    dlq = sqs.get_queue_url(QueueName="hat-dev-sms-dlq")["QueueUrl"]
    dead, = sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=0)["Messages"]
    assert json.loads(dead["Body"])["destination"] == "+8613800138000"
    assert "code" not in json.loads(dead["Body"])  # no live secret lingers in the DLQ


def test_a_twilio_that_recovers_sends_exactly_once(client, notify, aws):
    notify.twilio.fail_next(2, status=500)
    assert post(client, "/auth/codes", SMS).status_code == 202
    assert notify.deliver(rounds=4) == 3
    assert len(notify.twilio.requests) == 3
    assert len(notify.outbox) == 1
    record, = deliveries(aws)
    assert record["status"]["S"] == "queued"
    assert queue_depth(aws("sqs"), "hat-dev-sms") == 0
    assert queue_depth(aws("sqs"), "hat-dev-sms-dlq") == 0


def test_a_redelivered_job_never_sends_twice(notify, aws):
    from chalicelib.core.clock import utcnow
    from chalicelib.core.jobs import enqueue
    from chalicelib.notify.jobs import handle_job
    from chalicelib.notify.service import Sender

    job = {"kind": "message", "to": "+8613800138000", "body": "your run failed", "job_id": "job-1"}
    handle_job("sms", job, sender=Sender(clock=utcnow))
    handle_job("sms", job, sender=Sender(clock=utcnow))  # SQS delivered it again
    enqueue("sms", job)  # and once more through the queue and the real handler
    notify.deliver()
    assert len(notify.twilio.requests) == 1
    assert [item["body"] for item in notify.outbox] == ["your run failed"]


def test_the_email_job_reaches_a_real_smtp_server(client, notify, aws):
    assert post(client, "/auth/codes", EMAIL).status_code == 202
    assert notify.deliver() == 1
    message, = notify.smtp.messages
    assert message["From"] == "hat@example.com" and message["To"] == "alice@example.com"
    assert message["Subject"] == "Your hat verification code"
    code, = notify.codes_to("alice@example.com")
    assert code in message.get_content()
    record, = deliveries(aws)
    assert record["provider"]["S"] == "smtp" and record["status"]["S"] == "sent"
    assert record["provider_id"]["S"] == message["Message-ID"]


def test_email_through_ses_when_settings_say_so(notify, aws, monkeypatch):
    from chalicelib.core.clock import utcnow
    from chalicelib.core.settings import reset_settings
    from chalicelib.notify.jobs import handle_job
    from chalicelib.notify.service import Sender

    monkeypatch.setenv("HAT_EMAIL_BACKEND", "ses")
    reset_settings()
    ses = aws("ses")
    ses.verify_email_identity(EmailAddress="hat@example.com")
    handle_job("email", {"kind": "message", "to": "bob@example.com", "subject": "hi", "body": "hello",
                         "job_id": "job-ses"}, sender=Sender(clock=utcnow))
    assert ses.get_send_quota()["SentLast24Hours"] == 1
    assert notify.smtp.messages == []
    record, = deliveries(aws)
    assert record["provider"]["S"] == "ses"


def signed(body: dict, url: str, token: str = TWILIO_TOKEN) -> dict:
    from twilio.request_validator import RequestValidator

    return {"Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": RequestValidator(token).compute_signature(url, body)}


def status_form(sid: str, status: str, **extra) -> dict:
    return {"MessageSid": sid, "SmsSid": sid, "MessageStatus": status, "SmsStatus": status,
            "AccountSid": TWILIO_SID, "To": "+8613800138000", "From": FROM_NUMBER, "ApiVersion": "2010-04-01",
            **extra}


def callback(client, job_id: str, form: dict, headers: dict | None = None):
    url = f"{PUBLIC_URL}/hooks/twilio/status?job={job_id}"
    return client.http.post(f"/hooks/twilio/status?job={job_id}", headers=headers or signed(form, url),
                            body=urlencode(form))


def sent_sms(client, notify, aws) -> tuple[str, str]:
    assert post(client, "/auth/codes", SMS).status_code == 202
    notify.deliver()
    record, = deliveries(aws)
    return record["id"]["S"], record["provider_id"]["S"]


def test_a_signed_status_callback_moves_the_status_on(client, notify, aws):
    job_id, sid = sent_sms(client, notify, aws)
    response = callback(client, job_id, status_form(sid, "delivered"))
    assert response.status_code == 204
    record, = deliveries(aws)
    assert record["status"]["S"] == "delivered"
    # A late "sent" (callbacks arrive out of order) does not move it back.
    assert callback(client, job_id, status_form(sid, "sent")).status_code == 204
    assert deliveries(aws)[0]["status"]["S"] == "delivered"


def test_a_failed_status_keeps_the_error_code(client, notify, aws):
    job_id, sid = sent_sms(client, notify, aws)
    assert callback(client, job_id, status_form(sid, "undelivered", ErrorCode="30003")).status_code == 204
    record, = deliveries(aws)
    assert (record["status"]["S"], record["error_code"]["S"]) == ("undelivered", "30003")


def test_blank_fields_are_signed_too(client, notify, aws):
    job_id, sid = sent_sms(client, notify, aws)
    assert callback(client, job_id, status_form(sid, "sent", ErrorCode="")).status_code == 204


def test_a_bad_signature_is_401_and_writes_nothing(client, notify, aws):
    job_id, sid = sent_sms(client, notify, aws)
    before = deliveries(aws)
    form = status_form(sid, "delivered")
    url = f"{PUBLIC_URL}/hooks/twilio/status?job={job_id}"
    attempts = [
        callback(client, job_id, form, headers=signed(form, url, token="someone else's token")),
        callback(client, job_id, form, headers=signed(form, "https://evil.example.com/hooks/twilio/status")),
        callback(client, job_id, form, headers=signed({**form, "MessageStatus": "sent"}, url)),  # tampered
        callback(client, job_id, form, headers={"Content-Type": "application/x-www-form-urlencoded"}),
        callback(client, "other-job", form, headers=signed(form, url)),  # signed for another job
    ]
    for response in attempts:
        assert response.status_code == 401
        assert error_of(response)["code"] == "bad_signature"
    assert deliveries(aws) == before


def test_a_callback_for_another_message_of_the_job_is_ignored(client, notify, aws):
    job_id, _sid = sent_sms(client, notify, aws)
    assert callback(client, job_id, status_form("SM" + "f" * 32, "failed")).status_code == 204
    assert deliveries(aws)[0]["status"]["S"] == "queued"


def test_json_is_not_what_twilio_sends(client, notify, aws):
    response = client.http.post("/hooks/twilio/status?job=x", headers={"Content-Type": "application/json"},
                                body="{}")
    assert response.status_code == 415
