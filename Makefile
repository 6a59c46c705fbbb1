# Two commands for a newcomer: `make demo` and `make test` (see README).
VENV     ?= .venv
# The interpreter the venv is made from: the system's own python3 when it is 3.11 or later and can make a venv
# (Debian's is built with profile-guided and link-time optimisation: the 200,000-message run took ~15 % less
# CPU on it than on a pyenv build made without them, bench/RESULTS.md), else the first python3 on the PATH.
# `make PYTHON=/path/to/python3 venv` chooses another; a venv made from another interpreter is made again.
ifndef PYTHON
PYTHON   := $(shell for p in /usr/bin/python3 python3; do $$p -c 'import sys, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { echo $$p; break; }; done)
endif
PY       := $(VENV)/bin/python
TRIAGE   := $(VENV)/bin/triage
# where the interpreter lives, as the venv's pyvenv.cfg names it ("home = …")
PYHOME   := $(shell $(PYTHON) -c 'import os, sys; print(os.path.dirname(sys.executable))')
STAMP    := $(VENV)/.installed-$(shell (cat pyproject.toml; echo $(PYHOME)) | sha256sum | cut -c1-12)
# Debian tools the tests use to build real images and to cross-check results (installed when root).
APT_PACKAGES := ewf-tools sleuthkit e2fsprogs gdisk fdisk mtools dosfstools sqlite3 libimage-exiftool-perl android-sdk-libsparse-utils exfatprogs apfsprogs f2fs-tools chromium poppler-utils libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core fonts-noto-color-emoji postgresql redis-server
# files that are not commands: the statement's emoji font (report.pdf prints emoji as the phone showed them)
APT_FILES    := /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf
APT_TOOLS    := ewfacquire ewfverify fls mkfs.ext4 sgdisk sfdisk mcopy mkfs.vfat sqlite3 exiftool img2simg simg2img mkfs.exfat mkapfs mkfs.f2fs sload.f2fs dump.f2fs chromium pdftoppm pdftotext pg_ctlcluster redis-server

.PHONY: demo kiosk lab-demo test test-fast lint venv test-deps clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@[ ! -e $(VENV)/pyvenv.cfg ] || grep -qx 'home = $(PYHOME)' $(VENV)/pyvenv.cfg || \
	    { echo "$(VENV) was made from another interpreter: making it again from $(PYTHON)"; rm -rf $(VENV); }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $@

# The demo signs its bundle with a demo key kept in out/keys (a real examiner runs `triage keys init` once).
demo: $(STAMP)
	rm -rf out/demo out/demo.zip
	TRIAGE_KEY_DIR=out/keys $(TRIAGE) keys init --if-missing >/dev/null
	TRIAGE_KEY_DIR=out/keys $(TRIAGE) run fixtures/demo/demo.E01 --out out/demo \
	    --case DEMO-CASE-001 --exhibit EXH-DEMO-1 --examiner "Demo Examiner"

# The kiosk on a demo intake (README "Kiosk") at http://127.0.0.1:8765/ : sign in as "Demo Officer", PIN 123456.
# A demo only: a real kiosk has its own service user, folders, operators and key.
kiosk: $(STAMP)
	mkdir -p out/kiosk/intake out/kiosk/outbox
	ln -sfn $(CURDIR)/fixtures/demo/demo.E01 out/kiosk/intake/demo.E01
	TRIAGE_KEY_DIR=out/keys $(TRIAGE) keys init --if-missing >/dev/null
	[ -f out/kiosk/users.json ] || echo 123456 | $(TRIAGE) kiosk users add "Demo Officer" --users out/kiosk/users.json
	TRIAGE_KEY_DIR=out/keys $(TRIAGE) kiosk serve --intake out/kiosk/intake --outbox out/kiosk/outbox \
	    --users out/kiosk/users.json

# The lab (README "Lab deployment") on this machine: throwaway PostgreSQL and Redis under out/lab/<time>,
# one `triage worker`, the demo phone submitted through the queue; prints where the bundle is.
lab-demo: $(STAMP)
	$(PY) -m triage.lab.demo

test-deps:
	@missing=$$(for t in $(APT_TOOLS); do command -v $$t >/dev/null || echo $$t; done; \
	  for f in $(APT_FILES); do [ -e $$f ] || echo $$f; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian packages for: $$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(APT_PACKAGES) >/dev/null; \
	  else \
	    echo "note: missing tools ($$missing); tests that need them are skipped. As root: apt-get install $(APT_PACKAGES)"; \
	  fi; \
	fi

# ruff (lint rules and the formatter's layout) and mypy, all configured in pyproject.toml
lint: $(STAMP)
	$(VENV)/bin/ruff check triage rules parsers tests bench fixtures fuzz
	$(VENV)/bin/ruff format --check triage rules parsers tests bench fixtures fuzz
	$(VENV)/bin/mypy

# the tests without those marked slow (a 50,000-message phone, multi-GB streams, the lab cluster …): for the
# edit-test loop; `make test` (and CI) runs everything
test-fast: $(STAMP) test-deps lint
	$(PY) -m pytest -m "not slow"

test: $(STAMP) test-deps lint
	$(PY) -m pytest

clean:
	rm -rf $(VENV) out .pytest_cache
