"""Vocabulary of the generated everyday-mail text used by several benchmarks."""

WORDS = ["the", "mail", "server", "message", "delivery", "report", "meeting", "tomorrow", "invoice",
         "attached", "please", "see", "below", "thanks"]  # fmt: skip
