# airtask's container image: the task runner as the entrypoint of every task container
# (MWAA Serverless style: `airtask` with AIRTASK_* variables) and of Airflow's executors
# (KubernetesExecutor, EcsExecutor, Batch: `airtask execute-workload ...`, or the
# `python -m airflow.sdk.execution_time.execute_workload ...` command line they pass, as is).
#
#   scripts/docker-build.sh            # builds airtask:latest where Docker exists
#   docker run --rm airtask:latest --version
#
# Without Docker, scripts/image-build.sh builds the same image as an archive for `docker load`.
#
# Stage 1 builds the release binary on Debian bookworm, the runtime image's own release: it
# links only glibc's libc and libm and libgcc_s, all in the runtime image, and rustls (no
# OpenSSL). glibc rather than a static musl build: musl's allocator is markedly slower under
# the AWS SDK's many small allocations, and this is the binary the benchmarks measure.
# Stage 2 is Debian slim with that binary, CA certificates and a non-root user.
FROM rust:1.88-slim-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends git \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p airtask \
 && cp target/release/airtask /airtask \
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
