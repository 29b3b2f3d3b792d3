"""``python -m nbrepro``: the command line."""

from nbrepro.cli import main

raise SystemExit(main())
