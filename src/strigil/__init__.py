"""Strigil: a clinical workbench for instrument-assisted soft tissue mobilization."""

__version__ = "0.1.0"
