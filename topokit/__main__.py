"""``python -m topokit``: the same as the ``topokit`` command."""

import sys

from topokit.cli import main

if __name__ == "__main__":
    sys.exit(main())
