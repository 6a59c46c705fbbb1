"""What keeps the run honest: the hash-chained custody log, outputs created exclusively, where a run may write."""
