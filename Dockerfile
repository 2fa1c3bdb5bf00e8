# user-service container image.
#
#   docker build -t user-service .
#   docker run --rm --read-only -v user-data:/var/lib/user-service \
#     -p 50051:50051 -p 9464:9464 user-service
#
# Without a registry, scripts/offline-images.sh first builds local stand-ins for
# both base images under the same names. Pin digests through the build arguments,
# e.g. --build-arg RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot@sha256:...

# The builder's Rust minor version is pinned (rust-version in Cargo.toml is the floor).
# checkov:skip=CKV_DOCKER_7:The FROM lines name these build arguments, whose defaults carry explicit version tags; checkov does not expand ARG.
ARG RUST_IMAGE=rust:1.95-slim-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot

# ---------------------------------------------------------------- build
FROM ${RUST_IMAGE} AS build
WORKDIR /src

# Dependencies first, against placeholder sources: this layer is rebuilt only when
# Cargo.toml, Cargo.lock, build.rs or the proto change, not on every source edit.
# (A dummy main.rs works with every builder, the legacy one included.)
COPY Cargo.toml Cargo.lock build.rs ./
COPY proto ./proto
RUN mkdir src \
 && echo 'fn main() {}' > src/main.rs \
 && echo '' > src/lib.rs \
 && cargo build --locked --release --bin user-service \
 && rm -rf src target/release/user-service target/release/deps/user_service-* \
      target/release/deps/libuser_service-* target/release/.fingerprint/user-service-*

# The migrations (SQLite and PostgreSQL) are embedded in the binary (sqlx::migrate!).
COPY migrations ./migrations
COPY src ./src
# The store's directory is made here: the runtime image has no shell to make it.
RUN cargo build --locked --release --bin user-service \
 && install -D -m 0755 target/release/user-service /out/usr/local/bin/user-service \
 && install -d -m 0700 /out/var/lib/user-service

# ---------------------------------------------------------------- runtime
FROM ${RUNTIME_IMAGE}

ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="user-service" \
      org.opencontainers.image.description="gRPC user directory (user.v1.UserService, legacy user.Users) on SQLite or PostgreSQL, with health, reflection, OpenTelemetry traces and Prometheus metrics" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.base.name="gcr.io/distroless/cc-debian12:nonroot"

COPY --from=build /out/usr/local/bin/user-service /usr/local/bin/user-service
COPY --from=build --chown=65532:65532 /out/var/lib/user-service /var/lib/user-service
COPY deploy/config/user-service.toml /etc/user-service/user-service.toml

# The root filesystem stays read-only: the only files the service writes are
# the SQLite store's (users.db, -wal, -shm), on the volume below. A new volume
# starts as a copy of this directory, so it is owned by 65532.
ENV USER_SERVICE_CONFIG=/etc/user-service/user-service.toml \
    USER_SERVICE__STORE__URL=sqlite:///var/lib/user-service/users.db
VOLUME ["/var/lib/user-service"]

# distroless "nonroot"; numeric so Kubernetes runAsNonRoot can verify it.
USER 65532:65532

# gRPC (user.v1.UserService, user.Users, health, reflection) and Prometheus /metrics.
EXPOSE 50051 9464

# The binary is its own probe (no shell, no curl in this image); it reads the
# same config file to find the port, and exits non-zero unless SERVING.
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/user-service", "healthcheck"]

# SIGTERM starts the graceful shutdown: NOT_SERVING, grace period, drain, exit 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/user-service"]
CMD ["serve"]
