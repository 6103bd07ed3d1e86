"""The language of the API's own pages (the one-click unsubscribe, the form without
JavaScript's refusals, a refused link): the one the request asks for (`?lang=`, which a
mail's unsubscribe link carries), else the request's own (`web/inputs.py`
`request_language`: the language path of the site's page a form was posted from, the
browser's `Accept-Language`, the playbook's default); only languages the playbook lists.
Their templates read the words of that language's catalog through `_()` and
`{% trans %}`, and link to the site's pages in it (`root`)."""

from __future__ import annotations

from flask import Flask, g, has_request_context, request

from befriend.i18n.catalogs import translations
from befriend.i18n.languages import known
from befriend.web import inputs
from befriend.web.services import services


def page_language() -> str:
    """The language to answer this request's page in (kept for the request)."""
    found: str | None = g.get("page_language")
    if found is None:
        found = g.page_language = _chosen()
    return found


def _chosen() -> str:
    asked = known(request.args.get("lang", "")[:20])
    if asked is not None and asked.code in services().playbook.organisation.site_languages:
        return asked.code
    return inputs.request_language()


def in_language(code: str) -> dict[str, str]:
    """The headers of an answer said in `code`: its language, and what chose it (the
    `Referer`'s path and `Accept-Language`; `?lang=` is in the address already), so no
    cache hands one language's answer to a request for another."""
    return {"Content-Language": code, "Vary": "Accept-Language, Referer"}


def site_root(language: str) -> str:
    """The path where the site's pages in `language` begin: `/` for the default."""
    return services().playbook.organisation.root(language)


def _gettext(message: str) -> str:
    code = page_language() if has_request_context() else ""
    return translations(code).gettext(message) if code else message


def _ngettext(singular: str, plural: str, n: int) -> str:
    code = page_language() if has_request_context() else ""
    if code:
        return translations(code).ngettext(singular, plural, n)
    return singular if n == 1 else plural


def register(app: Flask) -> None:
    """The app's templates speak the request's language."""
    env = app.jinja_env
    env.add_extension("jinja2.ext.i18n")
    # A message's line breaks and indentation are the template's, not the translator's.
    env.policies["ext.i18n.trimmed"] = True
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=_gettext, ngettext=_ngettext, newstyle=True
    )

    @app.context_processor
    def _language() -> dict[str, str]:
        if not has_request_context():
            return {}
        code = page_language()
        return {"language": code, "root": site_root(code)}
