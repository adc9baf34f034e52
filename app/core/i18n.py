"""Translation helpers for our own code.

flask_babel's ``LazyString.__html__`` returns the text unescaped, so Jinja treats every lazy
message as markup, and a message that quotes user input (a NIK typed as ``<script>``, a
document name) would be rendered as live HTML. Our messages contain no markup, so ours escape
themselves. Import ``lazy_gettext as _l`` from here, never from flask_babel.
"""
from flask_babel import gettext
from flask_babel.speaklater import LazyString
from markupsafe import escape


class EscapedLazyString(LazyString):
    """A lazy translation that Jinja prints escaped, like any other text."""

    def __html__(self):
        return str(escape(str(self)))


def lazy_gettext(string, **variables):
    """Like ``flask_babel.lazy_gettext``, but escaped when rendered in a template.

    Args:
        string: the English source string (extracted by pybabel with the ``_l`` keyword).
        **variables: values interpolated with ``%(name)s``, possibly user input.

    Returns:
        EscapedLazyString: translated into the current locale when converted to str.
    """
    return EscapedLazyString(gettext, string, **variables)
