from trio_lb.cli import main

raise SystemExit(main())
