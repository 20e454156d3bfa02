from cometwatch.cli import main

raise SystemExit(main())
