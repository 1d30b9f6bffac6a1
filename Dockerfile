FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The notice-board sheets of `gongkai publish` embed a Chinese font (publish/sheet_font.py).
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-wqy-microhei \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . /src
RUN pip install . \
    && rm -rf /src/build \
    && useradd --system --create-home --home-dir /home/gongkai --uid 10001 --user-group gongkai

USER gongkai
WORKDIR /home/gongkai

EXPOSE 8000
CMD ["gongkai", "serve", "--host", "0.0.0.0", "--port", "8000"]
