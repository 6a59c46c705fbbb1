"""Photos and videos (`photo_exif.py`, `video_metadata.py`), the gallery databases that index them
(`stores.py`), and the JPEG/EXIF/HEIF structure checks the photo parser runs (`*_structure.py`, `heif_items.py`)."""
