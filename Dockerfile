# syntax=docker/dockerfile:1
# Build stage: install Lookout and its dependencies into a virtual environment.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/lookout
COPY pyproject.toml README.md ./
COPY app ./app
RUN /opt/lookout/bin/pip install .

# Runtime stage: the virtual environment only, run by an unprivileged user.
FROM python:3.11-slim
ENV PATH=/opt/lookout/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
RUN useradd --system --uid 10001 --no-create-home lookout
COPY --from=build /opt/lookout /opt/lookout
USER lookout
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]
# X-Forwarded-For is trusted only from FORWARDED_ALLOW_IPS (set it to the proxy's address), so a
# client cannot pick its own address and slip past the per-client rate limits.
CMD ["lookout", "serve", "--host", "0.0.0.0", "--port", "8000"]
