"""One run: `triage run` step by step (pipeline.py), its passes, `triage parse`, the scope, the private work
folder and progress."""
