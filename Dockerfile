# Switchboard service image. Build: docker build -t switchboard .
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    SWITCHBOARD_HOST=0.0.0.0 \
    SWITCHBOARD_DATA_DIR=/var/lib/switchboard

WORKDIR /srv/switchboard
COPY pyproject.toml README.md ./
COPY app ./app
COPY migrations ./migrations
RUN pip install . \
    && useradd --system --home /var/lib/switchboard --create-home switchboard

USER switchboard
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2).status != 200)"
CMD ["switchboard", "serve"]
