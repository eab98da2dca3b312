"""``python -m resnet_lab.figures``: see ``cli``. The command lives there, not here, so that
``from resnet_lab.figures import main`` does not import this module before runpy runs it."""

from .cli import main

raise SystemExit(main())
