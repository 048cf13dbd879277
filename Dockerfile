# syntax=docker/dockerfile:1
# jwtd: build in the official Rust image, run in distroless as a non-root user.

FROM rust:1.95-bookworm AS build
WORKDIR /src
# Dependencies first, in a layer of their own: it is rebuilt only when Cargo.toml or
# Cargo.lock change.
COPY Cargo.toml Cargo.lock ./
RUN mkdir src && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
    && cargo build --release --locked --bin jwtd \
    && rm -rf src
COPY src src
COPY migrations migrations
RUN touch src/main.rs src/lib.rs && cargo build --release --locked --bin jwtd \
    && mkdir -p /empty/data

FROM gcr.io/distroless/cc-debian12:nonroot
WORKDIR /app
COPY --from=build /src/target/release/jwtd /usr/local/bin/jwtd
COPY config/default.toml /app/config/default.toml
COPY --from=build --chown=nonroot:nonroot /empty/data /app/data
ENV JWTD__BIND=0.0.0.0:8000 \
    JWTD__DATA_DIR=/app/data \
    JWTD__LOG_FORMAT=json
USER nonroot
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=15s --retries=3 \
    CMD ["/usr/local/bin/jwtd", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/jwtd"]
CMD ["serve"]
