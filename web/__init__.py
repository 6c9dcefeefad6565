"""``policytrack serve``: a read-only web view and JSON API over the same storage functions the CLI uses.

Imports only downward (``storage``, ``core``): the CLI starts it, it never imports the CLI.
"""

from web.app import create_app

__all__ = ["create_app"]
