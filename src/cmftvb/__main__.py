from cmftvb.cli import main

raise SystemExit(main())
