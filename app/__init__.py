"""moxpy: a complete mail server in one executable file (see DESIGN.md for the layers)."""

__version__ = "0.1.0"
