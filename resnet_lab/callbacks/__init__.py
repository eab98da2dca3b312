"""The project's Lightning callbacks; ``conf/callbacks/`` builds them with ``hydra.utils.instantiate``."""

from .checkpoint import PeriodicCheckpoint
from .progress import IterationProgress, format_duration
from .responses import LayerResponses

__all__ = ["IterationProgress", "LayerResponses", "PeriodicCheckpoint", "format_duration"]
