"""The device itself: Android build.prop, settings and SIM history (`android.py`), the iTunes/Finder backup
Info.plist (`ios_device_info.py`) and iOS system plists (`ios_device_info_fs.py`)."""
