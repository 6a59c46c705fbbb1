"""The record vocabulary (records.py) and the time encodings every record's times keep (timeutil.py)."""
