"""The sign-up helpers live in tests/conftest.py, with the fixtures every folder shares;
the files still here import them from this module by its old name."""

from tests.conftest import (  # noqa: F401
    SENDER,
    Mails,
    SignUp,
    Visitor,
    token_in,
    unsubscribe_path,
)
