"""Printable documents (PDF): the signed visit note and the patient's after-care sheet.

Pure rendering: the services hand in plain dataclasses; nothing here reads the database.
"""
