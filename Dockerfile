# syntax=docker/dockerfile:1
#
# honeydue image: one image, every process kind (`honeydue api|gateway|worker|scheduler|migrate`).
# Built for linux/amd64 by deploy-k3s/deploy.sh (operators build on Apple Silicon).
#
# The Python base must satisfy pyproject's `requires-python` (the old image broke because its base
# was older than the code required); tests/test_deploy.py parses both and fails if they disagree.

# --- GraphiQL and admin console assets: node and npm live in this stage only --------------------------------------
FROM node:22-bookworm-slim AS graphiql
WORKDIR /src
# The script installs what scripts/graphiql/package-lock.json pins (`npm ci` checks every integrity
# hash) and writes honeydue/static/graphiql/vendor/; only that directory leaves this stage.
COPY scripts/ scripts/
RUN --mount=type=cache,target=/root/.npm \
    bash scripts/fetch-graphiql-assets \
    && test -n "$(ls -A honeydue/static/graphiql/vendor)" \
    && bash scripts/fetch-admin-assets \
    && test -n "$(ls -A honeydue/static/admin/vendor)"

# --- Build: install honeydue and its dependencies into a self-contained virtual environment ----
FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/honeydue
ENV PATH=/opt/honeydue/bin:$PATH
WORKDIR /src
COPY . .
COPY --from=graphiql /src/honeydue/static/graphiql/vendor honeydue/static/graphiql/vendor
COPY --from=graphiql /src/honeydue/static/admin/vendor honeydue/static/admin/vendor
# The dependencies are exactly requirements.lock's (every package pinned, every file's hash checked:
# a release or a re-upload nobody tested cannot slip in), then honeydue itself without resolving
# anything again. tests/test_image_install.py runs these very lines in a clean venv; tests/test_lock.py
# fails when the lock is stale against pyproject.toml. pip byte-compiles what it installs, which
# matters: the root filesystem is read-only at run time.
RUN pip install --require-hashes --no-deps -r requirements.lock
RUN pip install --no-deps .

# --- Runtime: slim, non-root, no compilers, no node ----------------------------------------------
FROM python:3.11-slim-bookworm AS runtime
ENV PATH=/opt/honeydue/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HONEYDUE_VAR_DIR=/tmp/honeydue
# DejaVu Sans for the residence report's PDF (resolvers/report_pdf.py): reportlab's built-in fonts only know
# Latin-1, DejaVu also Greek, Cyrillic, Hebrew, Arabic. Debian's package, nothing downloaded by hand.
RUN apt-get update \
    && apt-get install --yes --no-install-recommends fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 honeydue \
    && useradd --system --uid 10001 --gid 10001 --home-dir /tmp --shell /usr/sbin/nologin honeydue
COPY --from=build /opt/honeydue /opt/honeydue
# Numeric user so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
WORKDIR /tmp
EXPOSE 8000 8001 9300
ENTRYPOINT ["honeydue"]
CMD ["api", "--host", "0.0.0.0", "--port", "8000"]
