"""The Public API blueprint (CometCMS's read routes), under /api/v1."""

from __future__ import annotations

from flask import Blueprint

from cometwatch.web.context import SiteContext


def blueprint(site: SiteContext) -> Blueprint:
    bp = Blueprint("api", __name__)
    return bp
