from cnnlib.cli import main

raise SystemExit(main())
