"""`python -m siam_rt` runs the `siam-rt` command line."""

from siam_rt.cli import main

raise SystemExit(main())
