"""`python -m trio_gemini_live.cli`: the same as the `gemini-live` command."""

from . import main

raise SystemExit(main())
