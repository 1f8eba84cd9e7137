"""Notify: SMS and email jobs, delivery records, alert channels and recipients."""

# Twilio's status callbacks: the route (routes.py) and the callback URL (service.py) share it here,
# so the service needs no import of the routes.
TWILIO_STATUS_PATH = "/hooks/twilio/status"
