"""Weight transfer: plan + apply, per-layer-type rules (rules.py), checkpoint readers/writers (io.py)."""
from porter.weights.transfer import Ledger, WeightTransferError, plan, reverse_weights, transfer_weights

__all__ = ["Ledger", "WeightTransferError", "plan", "reverse_weights", "transfer_weights"]
