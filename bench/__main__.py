"""`python -m bench NAME [--repeat N] [--out-dir DIR]`: run one named benchmark and record it."""

from bench.harness import main

raise SystemExit(main())
