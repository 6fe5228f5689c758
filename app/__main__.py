"""Entry point of the zipapp and of ``python -m app``."""

from app.cli.main import entry

if __name__ == "__main__":
    entry()
