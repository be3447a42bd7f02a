# One image for every stage: `shopstream <stage>`.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin shopstream

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates libssl3 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/shopstream /usr/local/bin/shopstream
COPY config /etc/shopstream
ENV SHOPSTREAM_CONFIG=/etc/shopstream/default.toml
ENTRYPOINT ["shopstream"]
