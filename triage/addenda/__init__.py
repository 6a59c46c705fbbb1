"""What the examiner adds to a bundle: declarations given at the run (`triage run --declarations`), and
signed addenda made after it (`triage addendum`, `triage translations import`) that name the bundle they
belong to by the SHA-256 of its manifests and are checked with it (`triage verify BUNDLE --addendum A`)."""
