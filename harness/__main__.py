"""``python -m harness`` is the ``gumbel-harness`` command line."""
from harness.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
