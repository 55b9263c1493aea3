"""condense in Python: the condensation measures, the theory's prediction, run directories and
reports of condense for any PyTorch training (docs/python.md)."""

from . import _core
from .checkpoints import import_checkpoints
from .measures import LayerMeasures, StateDictMeasures, measure, measure_state_dict
from .run import Run, config_toml, train
from .theory import Prediction, TimeScale, predict, predict_fc, write_prediction
from .tracking import Tracker

__version__ = _core.__version__

__all__ = ["LayerMeasures", "Prediction", "Run", "StateDictMeasures", "TimeScale", "Tracker",
           "config_toml", "import_checkpoints", "measure", "measure_state_dict", "predict",
           "predict_fc", "train", "write_prediction"]
