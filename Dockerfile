# jwtd: build in the official Rust image, run in distroless as a non-root user.
# docker/selftest builds this image and walks the README's Docker section with it.

FROM rust:1.95-bookworm AS build
WORKDIR /src
# A stripped binary: symbols only make the image larger (Cargo.toml's profiles are left as
# they are for local builds).
ENV CARGO_PROFILE_RELEASE_STRIP=symbols
# Dependencies first, in a layer of their own: it is rebuilt only when Cargo.toml or
# Cargo.lock change.
COPY Cargo.toml Cargo.lock ./
RUN mkdir src && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
    && cargo build --release --locked --bin jwtd \
    && rm -rf src
COPY src src
COPY migrations migrations
# Compiled into the binary too: the console's templates (askama) and the documented
# defaults its settings page compares against.
COPY templates templates
COPY config/default.toml config/default.toml
RUN touch src/main.rs src/lib.rs && cargo build --release --locked --bin jwtd \
    && mkdir -p /empty/data

FROM gcr.io/distroless/cc-debian12:nonroot
WORKDIR /app
COPY --from=build /src/target/release/jwtd /usr/local/bin/jwtd
COPY --from=build --chown=65532:65532 /empty/data /app/data
ENV JWTD__BIND=0.0.0.0:8000 \
    JWTD__DATA_DIR=/app/data \
    JWTD__LOG_FORMAT=json
# Numeric, so that Kubernetes' runAsNonRoot can check it (it cannot resolve a name).
USER 65532:65532
# The SQLite database and the development key, when no database_url and no signing_key are
# set: a volume, so that they outlive the container.
VOLUME ["/app/data"]
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=15s --retries=3 \
    CMD ["/usr/local/bin/jwtd", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/jwtd"]
CMD ["serve"]
