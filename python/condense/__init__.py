"""condense in Python: the condensation measures, the theory's prediction, run directories and
reports of condense for any PyTorch training (docs/python.md)."""

from . import _core
from .measures import LayerMeasures, StateDictMeasures, measure, measure_state_dict
from .run import Run, config_toml, train

__version__ = _core.__version__

__all__ = ["LayerMeasures", "Run", "StateDictMeasures", "config_toml", "measure",
           "measure_state_dict", "train"]
