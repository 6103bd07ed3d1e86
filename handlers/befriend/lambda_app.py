"""The Lambda entry point: the Flask app behind apig-wsgi, built once per container."""

from __future__ import annotations

from apig_wsgi import make_lambda_handler

from befriend.config import Settings
from befriend.web.app import create_app

# Read here, once per container: with BEFRIEND_SECRET_ARN this is the one Secrets Manager call.
settings = Settings.from_env()
handler = make_lambda_handler(create_app(settings), binary_support=True)
