# Slim, non-root image running `spotcheck serve`.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY api ./api
COPY sampling ./sampling
COPY evidence ./evidence
COPY scoring ./scoring
RUN pip install --no-cache-dir --upgrade pip \
 && pip wheel --no-cache-dir --wheel-dir /wheels ".[s3]"

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    SPOTCHECK_ENV=production SPOTCHECK_DATA_DIR=/var/lib/spotcheck
RUN useradd --system --uid 10001 --home-dir /var/lib/spotcheck --create-home spotcheck
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER spotcheck
WORKDIR /var/lib/spotcheck
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
# SPOTCHECK_SECRET_KEY and SPOTCHECK_DATABASE_URL must be provided at run time. Evidence and the
# ledger signing key live under /var/lib/spotcheck unless SPOTCHECK_EVIDENCE_S3_BUCKET and
# SPOTCHECK_LEDGER_KEY_FILE say otherwise: mount a volume there.
CMD ["sh", "-c", "spotcheck migrate && exec spotcheck serve --host 0.0.0.0 --port 8000 --workers ${SPOTCHECK_WORKERS:-2}"]
