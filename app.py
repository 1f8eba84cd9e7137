"""The Chalice app `hat`: wiring only. Logic lives in chalicelib/<feature>/."""
from chalice import Chalice

from chalicelib.accounts.routes import accounts_routes, session_user
from chalicelib.catalog.jobs import catalog_jobs
from chalicelib.catalog.routes import catalog_routes
from chalicelib.console.routes import console_routes
from chalicelib.core.auth import register_auth_middleware
from chalicelib.core.http import register_http_middleware, translate_throttling
from chalicelib.core.logs import configure_logging
from chalicelib.core.routes import core_routes
from chalicelib.files.routes import BINARY_TYPES, files_routes
from chalicelib.imports.routes import imports_routes
from chalicelib.keys.routes import key_for_request, keys_routes
from chalicelib.notify.jobs import notify_jobs
from chalicelib.notify.routes import notify_routes
from chalicelib.runs.jobs import runs_jobs
from chalicelib.runs.routes import runs_routes
from chalicelib.sandbox.routes import sandbox_routes
from chalicelib.schedules.jobs import schedules_jobs
from chalicelib.schedules.routes import schedules_routes

app = Chalice(app_name="hat")
app.api.binary_types.extend(BINARY_TYPES)
configure_logging()

# Order matters: the first middleware registered is the outermost.
register_http_middleware(app)
register_auth_middleware(app, resolve_token=session_user, resolve_key=key_for_request)
app.register_blueprint(core_routes)
app.register_blueprint(catalog_routes)
app.register_blueprint(catalog_jobs)
app.register_blueprint(accounts_routes)
app.register_blueprint(notify_routes)
app.register_blueprint(notify_jobs)
app.register_blueprint(schedules_routes)
app.register_blueprint(schedules_jobs)
app.register_blueprint(runs_routes)
app.register_blueprint(runs_jobs)
app.register_blueprint(keys_routes)
app.register_blueprint(sandbox_routes)
app.register_blueprint(files_routes)
app.register_blueprint(imports_routes)
app.register_blueprint(console_routes)
# Last: AWS throttling past the retries becomes a 503 in every view registered above.
translate_throttling(app)
