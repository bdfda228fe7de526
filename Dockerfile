# syntax=docker/dockerfile:1
#
# scim-bridge container image.
#
#   docker build -t scim-bridge:0.1.0 .
#   docker run --rm -p 8080:8080 -v "$PWD/config.toml:/etc/scim-bridge/config.toml:ro" \
#     -e DATABASE_URL=postgres://... scim-bridge:0.1.0
#
# Two stages: a Rust build stage, and a distroless runtime stage with no shell,
# no package manager and a non-root user (UID/GID 65532, "nonroot").
# The binary uses rustls, so the runtime needs no OpenSSL; the cc image brings
# glibc, libgcc and CA certificates.

ARG RUST_IMAGE=rust:1.95-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot

############################ build ############################
FROM ${RUST_IMAGE} AS build
WORKDIR /src

# 1. Dependencies only. Copy the manifests and build against stub targets, so
#    this (slow) layer is reused until Cargo.toml or Cargo.lock changes.
#    Every target declared in Cargo.toml must exist for cargo to read the
#    manifest: if you add a [[bin]], [[test]] or [[bench]], add its stub here.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src tests/api \
 && echo 'fn main() {}' > src/main.rs \
 && touch src/lib.rs \
 && echo 'fn main() {}' > tests/api/main.rs \
 && cargo build --release --locked \
 && rm -rf src target/release/scim-bridge target/release/deps/scim_bridge-* \
           target/release/deps/libscim_bridge-* target/release/.fingerprint/scim-bridge-*

# 2. The application. migrations/ is copied because the binary may embed it at
#    compile time (sqlx::migrate!).
COPY migrations ./migrations
COPY src ./src
# Touch the crate roots so cargo never mistakes them for the stubs built above.
RUN touch src/main.rs src/lib.rs \
 && cargo build --release --locked \
 && ./target/release/scim-bridge --help >/dev/null \
 && install -D -m 0755 target/release/scim-bridge /out/scim-bridge

############################ runtime ############################
FROM ${RUNTIME_IMAGE}

LABEL org.opencontainers.image.title="scim-bridge" \
      org.opencontainers.image.description="SCIM 2.0 bridge: takes Okta / Entra ID provisioning and drives vendor REST APIs" \
      org.opencontainers.image.licenses="Apache-2.0"

COPY --from=build /out/scim-bridge /usr/local/bin/scim-bridge

# The binary's built-in default is listen = "127.0.0.1:8080", which is not
# reachable from outside a container: the config file must say
# listen = "0.0.0.0:8080" (the Helm chart renders it). No ENV is set here on
# purpose, because SCIM_BRIDGE_LISTEN would override the file's value.

# distroless :nonroot already runs as 65532; say so explicitly for scanners and
# for orchestrators that check runAsNonRoot against a numeric UID.
USER 65532:65532
WORKDIR /home/nonroot
EXPOSE 8080

# No HEALTHCHECK: distroless has no shell or curl. The orchestrator probes
# GET /healthz (liveness) and GET /readyz (readiness) on port 8080.
ENTRYPOINT ["/usr/local/bin/scim-bridge"]
CMD ["serve", "--config", "/etc/scim-bridge/config.toml"]
