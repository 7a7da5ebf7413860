"""Strigil package."""
