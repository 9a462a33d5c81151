"""Parity checking: inputs, capture and localisation (check.py), metrics, report renderers."""
from porter.parity.check import ParityReport, check_parity

__all__ = ["ParityReport", "check_parity"]
