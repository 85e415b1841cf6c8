"""``python -m cfql``: the same as the ``cfql`` command."""

import sys

from cfql.cli.main import main

sys.exit(main())
