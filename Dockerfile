# qkv-server container: build on Debian 12 with the project's own dependency script, run on a slim
# Debian 12 with only the runtime libraries. The bundled bert-tiny-random model is the default --model;
# mount a real model and set QKV_MODEL (or --model) to serve something else.
#
#   docker build --build-arg QKV_VERSION="$(scripts/version.sh)" -t qkv:"$(scripts/version.sh)" .
#   docker run --rm -p 50051:50051 -p 8080:8080 qkv:0.9.0
#   docker run --rm -p 50051:50051 -v /models/minilm:/model:ro -e QKV_MODEL=/model qkv:0.9.0

FROM debian:12 AS build
WORKDIR /src
COPY scripts/install_deps.sh scripts/install_deps.sh
RUN bash scripts/install_deps.sh && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DQKV_BUILD_BENCH=OFF \
 && cmake --build build -j "$(nproc)" --target qkv-server qkv

FROM debian:12-slim
# The project version (CMakeLists.txt project(VERSION); scripts/version.sh prints it). The default is kept
# equal to it by tests/ops/manifests_test.py.
ARG QKV_VERSION=0.9.0
LABEL org.opencontainers.image.title="qkv-server" \
      org.opencontainers.image.description="gRPC inference service for BERT-family encoders on CPU (oneDNN)" \
      org.opencontainers.image.version="${QKV_VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY scripts/install_deps.sh /tmp/install_deps.sh
RUN bash /tmp/install_deps.sh --runtime && rm -rf /var/lib/apt/lists/* /tmp/install_deps.sh \
 && useradd --system --uid 10001 --no-create-home qkv
COPY --from=build /src/build/server/qkv-server /usr/bin/qkv-server
COPY --from=build /src/build/client/qkv /usr/bin/qkv
COPY scripts/healthcheck.sh /usr/bin/qkv-healthcheck
# The default model location qkv-server looks for (see --model).
COPY models/bert-tiny-random /usr/share/qkv/models/bert-tiny-random
USER 10001
ENV QKV_LISTEN=0.0.0.0:50051 QKV_HTTP_LISTEN=0.0.0.0:8080
# 50051: gRPC (qkv.v1.EncoderService, health, reflection). 8080: HTTP /metrics, /healthz, /readyz.
EXPOSE 50051 8080
# gRPC health of the encoder service on the QKV_LISTEN port, with TLS when QKV_TLS_CERT is set
# (scripts/healthcheck.sh); exit 0 only when SERVING.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 CMD ["/usr/bin/qkv-healthcheck"]
# SIGTERM drains: health goes NOT_SERVING, in-flight calls finish within QKV_GRACE_PERIOD (default 30s).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/qkv-server"]
