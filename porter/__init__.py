"""porter: port PyTorch models to PaddlePaddle and prove the port is faithful."""
from porter.api import check_parity, convert_path, convert_source, transfer_weights

__version__ = "0.1.0"
__all__ = ["convert_source", "convert_path", "transfer_weights", "check_parity", "__version__"]
