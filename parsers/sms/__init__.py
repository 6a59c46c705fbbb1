"""SMS, MMS, iMessage and RCS: Android mmssms.db (`android_sms.py`, `android_mms.py`) and its backup files
(`android_sms_backup.py`), Google Messages (`google_messages.py`), iOS sms.db (`ios_sms.py`,
`ios_sms_legacy.py`) and the iMessage attributedBody decoder (`attributed_body.py`)."""
