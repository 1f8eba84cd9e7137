"""Routes every stage serves whatever the features: health."""
from chalice import Blueprint

from chalicelib.core.settings import get_settings

core_routes = Blueprint(__name__)


@core_routes.route("/health", methods=["GET"])
def health() -> dict:
    settings = get_settings()
    return {"status": "ok", "stage": settings.stage, "version": settings.version}
