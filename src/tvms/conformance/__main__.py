from tvms.conformance.runner import main

raise SystemExit(main())
