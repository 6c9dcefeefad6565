"""The ground floor every other package stands on: the corpus document form and the error taxonomy.

``crawler``, ``storage`` and ``scheduler`` import from here; ``core`` imports none of them, and the CLI
(``policytrack``) sits on top of them all, so every import arrow points down.
"""
