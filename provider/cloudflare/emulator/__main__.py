"""``python -m cfql.provider.cloudflare.emulator``: same as ``cfql emulator``."""

from .cli import main

raise SystemExit(main())
