import sys

from tfkip.cli import main

sys.exit(main())
