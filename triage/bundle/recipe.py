"""VERIFY.txt: how to check a bundle with standard tools only (coreutils, OpenSSL 3, a BagIt validator).

tests/bundle/test_verify_recipe.py runs these commands exactly as written here; change both together.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from triage import TOOL_NAME, __version__
from triage.bundle.keys import fingerprint, fingerprint_der

SHA256SUM_PAYLOAD = "sha256sum -c manifest-sha256.txt"
SHA256SUM_TAGS = "sha256sum -c tagmanifest-sha256.txt"
LIST_ADDED = "diff <(cut -d' ' -f3- manifest-sha256.txt | sort) <(find data -type f | sort)"
LIST_SPECIAL = "find data ! -type f ! -type d"
OPENSSL_VERIFY = (
    "openssl pkeyutl -verify -pubin -inkey examiner_public_key.pem -rawin "
    "-in tagmanifest-sha256.txt -sigfile tagmanifest-sha256.txt.sig"
)
OPENSSL_FINGERPRINT = "openssl pkey -pubin -in examiner_public_key.pem -outform DER | sha256sum"
BAGIT_VALIDATE = "bagit.py --validate ."


def verify_recipe(name: str, key: Ed25519PublicKey | None) -> str:
    return "\n".join([_intro(name), _files_unchanged(), _nothing_added(), _signature(key), _with_the_tool(name)]) + "\n"


def _intro(name: str) -> str:
    return f"""HOW TO CHECK THIS BUNDLE WITH STANDARD TOOLS
============================================

This folder ({name}) is a BagIt 1.0 bag (RFC 8493) sealed by {TOOL_NAME} {__version__}.
data/ holds everything the examination wrote: index.html and report.pdf (the report), findings.json,
custody.jsonl (the examination record, hash-chained) and the exports. The files beside data/ seal it:

  manifest-sha256.txt          SHA-256 of every file under data/
  tagmanifest-sha256.txt       SHA-256 of bagit.txt, bag-info.txt, manifest-sha256.txt, VERIFY.txt
                               (and examiner_public_key.pem when the bundle is signed)
  tagmanifest-sha256.txt.sig   the examiner's Ed25519 signature over tagmanifest-sha256.txt (64 raw bytes)

If you received {name}.zip: `unzip -l {name}.zip` must list one folder, {name}/, and nothing beside it.
Unzip it and run every command below inside the folder (cd {name}).
"""


def _files_unchanged() -> str:
    return f"""1. Every file is the one that was sealed (each line must end in ": OK", and no "FAILED"):

     {SHA256SUM_PAYLOAD}
     {SHA256SUM_TAGS}
"""


def _nothing_added() -> str:
    return f"""2. No file was added (sha256sum -c does not notice extra files). In bash, both of these must print
   nothing (the first lists files added or removed, the second links and special files):

     {LIST_ADDED}
     {LIST_SPECIAL}

   A BagIt validator checks steps 1 and 2 together, for example bagit-python
   (python3 -m pip install bagit):

     {BAGIT_VALIDATE}
"""


def _signature(key: Ed25519PublicKey | None) -> str:
    if key is None:
        return """3. This bundle is NOT SIGNED: there is no examiner_public_key.pem and no signature. The manifests show
   that the files agree with each other, but nothing ties them to an examiner: anyone who changed a file
   could have rewritten the manifests too. Ask the examiner for the SHA-256 of tagmanifest-sha256.txt
   (sha256sum tagmanifest-sha256.txt) recorded at the time, or for a signed bundle.
"""
    return f"""3. The signature (OpenSSL 3.0 or later) must print "Signature Verified Successfully":

     {OPENSSL_VERIFY}

4. Whose key it is. A valid signature proves only that the bundle was signed with the key in
   examiner_public_key.pem, and anyone can make a key: compare its fingerprint with the one the examiner
   published (obtained from them, never from this bundle):

     {OPENSSL_FINGERPRINT}

   For this bundle it prints {fingerprint_der(key)}
   ({TOOL_NAME} shows the same key also as {fingerprint(key)}).
   If the examiner's published fingerprint is different, this bundle was not signed by that examiner.
"""


def _with_the_tool(name: str) -> str:
    return f"""With {TOOL_NAME} installed, one command does all of the above (the folder or the zip):

     triage verify {name}.zip --trust <the examiner's published fingerprint>

   exit 0 INTACT (signed by that key), 1 ALTERED, 2 CANNOT CHECK, 3 INTACT BUT SIGNER NOT CHECKED
   (no --trust given, or not signed), 4 INCOMPLETE (the examination did not finish).
"""


def addendum_recipe(name: str, key: Ed25519PublicKey, bundle: str, bundle_tag_manifest_sha256: str) -> str:
    """VERIFY.txt of a signed addendum (triage/addenda/): the same steps, and which bundle it belongs to."""
    intro = f"""HOW TO CHECK THIS ADDENDUM WITH STANDARD TOOLS
==============================================

This folder ({name}) is a signed addendum to the bundle {bundle}, made by {TOOL_NAME} {__version__}:
a BagIt 1.0 bag whose data/ holds what was added after the bundle was sealed (declarations, certified
translations; addendum.html shows them), sealed and signed as the bundle is. Its bag-info.txt names the
bundle by the SHA-256 of the bundle's tagmanifest-sha256.txt (Addendum-To-Tag-Manifest-SHA256) and
manifest-sha256.txt (Addendum-To-Manifest-SHA256).

If you received {name}.zip: `unzip -l {name}.zip` must list one folder, {name}/, and nothing beside it.
Unzip it and run every command below inside the folder (cd {name}).
"""
    which = f"""5. Which bundle it belongs to: inside the bundle's folder,

     sha256sum tagmanifest-sha256.txt

   must print {bundle_tag_manifest_sha256}, and the bundle must itself check (its VERIFY.txt).

With {TOOL_NAME} installed, one command checks the bundle and this addendum together:

     triage verify {bundle}.zip --addendum {name}.zip --trust <the examiner's published fingerprint>
"""
    return "\n".join([intro, _files_unchanged(), _nothing_added(), _signature(key), which]) + "\n"
