"""The languages befriend speaks: which ones, how a person's is chosen, and the catalogs
(gettext, made with Babel) its pages, mails and answers are translated from."""
