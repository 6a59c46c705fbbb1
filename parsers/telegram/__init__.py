"""Telegram: the TL decoder (`tl.py`, table in `tl_schema.py` + `tl_legacy.py`), Android cache4.db
(`android.py`) and iOS Postbox (`ios.py`, `postbox.py`)."""
