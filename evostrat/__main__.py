"""``python -m evostrat``: the same as the ``evostrat`` command."""

from evostrat.cli import main

raise SystemExit(main())
