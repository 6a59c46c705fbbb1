"""The passes over the stored records: parties, payments, media groups and watch-lists, thumbnails, the shared
text scan, and how a record is cited."""
