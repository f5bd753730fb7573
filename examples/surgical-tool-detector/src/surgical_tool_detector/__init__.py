"""Surgical Tool Detector.

Surgical teams count every instrument by hand before closing, and an instrument left on the
operating table unnoticed (or inside the patient) is a retained-instrument incident.
"""

__version__ = "0.1.0"
