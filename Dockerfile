# qkv-server container: build on Debian 12 with the project's own dependency script, run on a slim
# Debian 12 with only the runtime libraries. The bundled bert-tiny-random model is the default --model;
# mount a real model and set QKV_MODEL (or --model) to serve something else.
#
#   docker build -t qkv .
#   docker run --rm -p 50051:50051 qkv
#   docker run --rm -p 50051:50051 -v /models/minilm:/model:ro -e QKV_MODEL=/model qkv

FROM debian:12 AS build
WORKDIR /src
COPY scripts/install_deps.sh scripts/install_deps.sh
RUN bash scripts/install_deps.sh && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DQKV_BUILD_BENCH=OFF \
 && cmake --build build -j "$(nproc)" --target qkv-server qkv

FROM debian:12-slim
COPY scripts/install_deps.sh /tmp/install_deps.sh
RUN bash /tmp/install_deps.sh --runtime && rm -rf /var/lib/apt/lists/* /tmp/install_deps.sh \
 && useradd --system --uid 10001 --no-create-home qkv
COPY --from=build /src/build/server/qkv-server /usr/bin/qkv-server
COPY --from=build /src/build/client/qkv /usr/bin/qkv
# The default model location qkv-server looks for (see --model).
COPY models/bert-tiny-random /usr/share/qkv/models/bert-tiny-random
USER 10001
ENV QKV_LISTEN=0.0.0.0:50051
EXPOSE 50051
# gRPC health of the encoder service; the qkv CLI exits non-zero unless it is SERVING.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s \
  CMD ["qkv", "health", "--quiet", "--target=localhost:50051", "--service=qkv.v1.EncoderService"]
# SIGTERM drains: health goes NOT_SERVING, in-flight calls finish within QKV_GRACE_PERIOD (default 30s).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/qkv-server"]
