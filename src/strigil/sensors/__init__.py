"""Instrumented IASTM: recordings from a force-sensing tool, their strokes and the dose.

Pure numerics (numpy only): no framework, no database, no configuration, so a device bridge or
a researcher can use the same definitions as the clinic (docs/sensors.md).
"""

from strigil.sensors.dose import Dose, StrokeFigures, analyze
from strigil.sensors.recording import Recording, Sidecar, parse_csv, parse_sidecar, read_recording

__all__ = [
    "Dose",
    "Recording",
    "Sidecar",
    "StrokeFigures",
    "analyze",
    "parse_csv",
    "parse_sidecar",
    "read_recording",
]
