from tvms.cli import main

raise SystemExit(main())
