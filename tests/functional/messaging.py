"""The credentials and addresses the functional suites give the Twilio and SMTP stand-ins."""
TWILIO_SID = "AC" + "1" * 32
TWILIO_TOKEN = "test-twilio-token"
FROM_NUMBER = "+15005550006"
PUBLIC_URL = "https://hat.example.com/api"
