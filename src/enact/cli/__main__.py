"""``python -m enact.cli``: the ``enact`` command without its script."""

import sys

from enact.cli import main

sys.exit(main())
