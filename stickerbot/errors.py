"""The one kind of error meant for the user: :class:`UserError`.

A ``UserError`` is a problem the user can fix (a setting, an input file, a step not run yet,
a missing install); its message says what to change. The CLI prints it as one line
("error: ...", exit code 2) and the app shows it in the chat; any other exception is a bug
and keeps its traceback.

Errors of a part (``BackboneError``, ``EmbedderLoadError``, ``SourceError``, ...) subclass it
next to the built-in they always were (``RuntimeError``, ``ValueError``), so code that caught
those still does.
"""

from __future__ import annotations


class UserError(Exception):
    """A problem the user can fix; the message says how."""
