# mobile-triage in a container: the runtime only (no test extras), as a non-root user.
# Build: docker build -t mobile-triage .
# Run (the evidence mounted read-only, results to a writable folder; see README "Running in a container"):
#   docker run --rm -v /cases/EXH1:/evidence:ro -v /cases/out:/out mobile-triage \
#     run /evidence/phone.E01 --out /out/EXH1 --case C1 --exhibit EXH1 --examiner "A. Examiner"
FROM python:3.11-slim-bookworm

# what the run needs from Debian: Pango for report.pdf, the statement's fonts (text and emoji)
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core fonts-noto-color-emoji \
 && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 1000 examiner
WORKDIR /opt/mobile-triage
COPY --chown=examiner:examiner pyproject.toml README.md ./
COPY --chown=examiner:examiner triage ./triage
COPY --chown=examiner:examiner parsers ./parsers
COPY --chown=examiner:examiner rules ./rules
USER examiner
RUN python -m venv /opt/mobile-triage/.venv \
 && /opt/mobile-triage/.venv/bin/pip install --quiet --no-cache-dir --disable-pip-version-check .

ENV PATH=/opt/mobile-triage/.venv/bin:$PATH
# evidence is mounted read-only; results go to a writable volume
VOLUME ["/evidence", "/out"]
ENTRYPOINT ["triage"]
CMD ["--help"]
