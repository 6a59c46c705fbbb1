# mobile-triage in a container: the same install as `make venv` in the README, as a non-root user.
# Run: docker run --rm -v /cases/EXH1:/evidence:ro -v /cases/out:/out mobile-triage \
#        run /evidence/phone.E01 --out /out/EXH1 --case C1 --exhibit EXH1 --examiner "A. Examiner"
FROM python:3.11-slim-bookworm

RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends make \
    libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core fonts-noto-color-emoji \
 && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 1000 examiner
WORKDIR /opt/mobile-triage
COPY --chown=examiner:examiner . .
USER examiner
RUN make venv VENV=/opt/mobile-triage/.venv

ENV PATH=/opt/mobile-triage/.venv/bin:$PATH
# evidence is mounted read-only; results go to a writable volume
VOLUME ["/evidence", "/out"]
ENTRYPOINT ["triage"]
CMD ["--help"]
