"""The Chalice app `hat`: wiring only. Logic lives in chalicelib/<feature>/."""
from chalice import Chalice

from chalicelib.accounts.routes import accounts_routes
from chalicelib.accounts.sessions import user_for_token
from chalicelib.catalog.jobs import catalog_jobs
from chalicelib.catalog.routes import catalog_routes
from chalicelib.core.auth import register_auth_middleware
from chalicelib.core.http import register_http_middleware
from chalicelib.core.logs import configure_logging
from chalicelib.core.routes import core_routes
from chalicelib.notify.jobs import notify_jobs
from chalicelib.notify.routes import notify_routes

app = Chalice(app_name="hat")
configure_logging()

# Order matters: the first middleware registered is the outermost.
register_http_middleware(app)
register_auth_middleware(app, resolve_token=user_for_token)
app.register_blueprint(core_routes)
app.register_blueprint(catalog_routes)
app.register_blueprint(catalog_jobs)
app.register_blueprint(accounts_routes)
app.register_blueprint(notify_routes)
app.register_blueprint(notify_jobs)
