# airtask's container image: the task runner as the entrypoint of every task container
# (MWAA Serverless style: `airtask` with AIRTASK_* variables) and of Airflow's executors
# (KubernetesExecutor, EcsExecutor, Batch: `airtask execute-workload ...` once implemented).
#
#   scripts/docker-build.sh            # builds airtask:latest where Docker exists
#   docker run --rm airtask:latest --version
#
# Stage 1 builds a static binary (musl, rustls: no OpenSSL, no glibc); stage 2 is Debian slim
# with that binary, CA certificates and a non-root user.
FROM rust:1-slim-bookworm AS build
RUN rustup target add x86_64-unknown-linux-musl \
 && apt-get update && apt-get install -y --no-install-recommends musl-tools git \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p airtask --target x86_64-unknown-linux-musl \
 && cp target/x86_64-unknown-linux-musl/release/airtask /airtask \
 && strip /airtask

# The runtime image: Debian slim, because BashOperator tasks need bash and the usual tools;
# CA certificates for the AWS endpoints; a non-root user.
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --uid 10001 --create-home --shell /bin/bash airtask
COPY --from=build /airtask /usr/local/bin/airtask
USER airtask
WORKDIR /home/airtask
ENTRYPOINT ["/usr/local/bin/airtask"]
