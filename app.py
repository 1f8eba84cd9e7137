"""The Chalice app `hat`: wiring only. Logic lives in chalicelib/<feature>/."""
from chalice import Chalice

from chalicelib.core.http import register_http_middleware
from chalicelib.core.routes import core_routes

app = Chalice(app_name="hat")

register_http_middleware(app)
app.register_blueprint(core_routes)
