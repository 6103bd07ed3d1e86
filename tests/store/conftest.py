"""Store tests drive the app as the API tests do: the same sign-up fixtures."""

from tests.api.conftest import mails, sign_up  # noqa: F401  (fixtures)
