"""The device itself: Android build.prop, settings and SIM history (`android.py`), the accounts the phone holds
(`android_accounts.py`), the installed packages (`android_packages.py`, with the messaging apps and their
variants named in `messenger_apps.py`), the iTunes/Finder backup Info.plist (`ios_device_info.py`) and iOS
system plists (`ios_device_info_fs.py`)."""
