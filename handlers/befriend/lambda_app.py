"""The Lambda entry point: the Flask app behind apig-wsgi, built once per container."""

from __future__ import annotations

from apig_wsgi import make_lambda_handler

from befriend.config import Settings
from befriend.web.app import create_app

handler = make_lambda_handler(create_app(Settings.from_env()), binary_support=True)
