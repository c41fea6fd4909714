"""`python -m tfkip`: the same as the `tfkip` command."""
import sys

from tfkip.cli import main

if __name__ == "__main__":
    sys.exit(main())
