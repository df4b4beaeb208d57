from stickerbot.cli import main

raise SystemExit(main())
