"""``python -m resnet_lab.dashboard``: see ``cli`` (kept there so importing the package does not
run the command)."""

from .cli import main

raise SystemExit(main())
