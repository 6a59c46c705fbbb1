"""WhatsApp: Android msgstore.db and wa.db (`android.py`), iOS ChatStorage.sqlite and ContactsV2.sqlite
(`ios.py`), WhatsApp Pay in msgstore.db (`payments.py`) and the code tables they share (`codes.py`)."""
