# The Smart Install director in a container (docs/deployment.md).
#
#   docker build -t smartinstall .
#   docker run -d --name smartinstall --network host \
#     -v smartinstall:/var/lib/smartinstall smartinstall
#
# DHCP sees the switches' broadcasts only on the host's network (--network host, or a macvlan).
# The director runs as the unprivileged user "smartinstall"; its interpreter carries the one
# capability it needs, CAP_NET_BIND_SERVICE, to bind ports 67 (DHCP), 69 (TFTP) and 22 (SSH)
# — keep NET_BIND_SERVICE in the container's set (it is there by default; with
# --cap-drop ALL add --cap-add NET_BIND_SERVICE).

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE MANIFEST.in CHANGELOG.md ./
COPY src ./src
COPY docs ./docs
COPY examples ./examples
COPY packaging ./packaging
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
COPY --from=build /wheels /tmp/wheels
COPY constraints-dev.txt /tmp/constraints.txt
# setcap on the interpreter: the non-root director may bind ports below 1024
# (libcap2-bin is removed again; the Python packages are pinned by the constraints file)
# hadolint ignore=DL3008,DL3013
RUN apt-get update \
    && apt-get install -y --no-install-recommends libcap2-bin \
    && pip install --constraint /tmp/constraints.txt /tmp/wheels/*.whl \
    && setcap cap_net_bind_service=+ep "$(readlink -f /usr/local/bin/python3)" \
    && apt-get purge -y --auto-remove libcap2-bin \
    && rm -rf /var/lib/apt/lists/* /tmp/wheels /tmp/constraints.txt \
    && groupadd --system --gid 10001 smartinstall \
    && useradd --system --gid smartinstall --home-dir /var/lib/smartinstall --uid 10001 \
       --shell /usr/sbin/nologin smartinstall \
    && install -d -o smartinstall -g smartinstall -m 0750 /var/lib/smartinstall

# numeric, so that a runtime can tell it is not root (Kubernetes runAsNonRoot)
USER 10001:10001
WORKDIR /var/lib/smartinstall
VOLUME /var/lib/smartinstall
# DHCP, TFTP, Smart Install, SSH command line
EXPOSE 67/udp 69/udp 4786/tcp 22/tcp
# the director's own console socket in the data directory: no network needed (shell form on
# purpose: the check is a pipe, which Docker runs with /bin/sh -c)
# hadolint ignore=DL3025
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD printf 'show vstack status\n' | smartinstall console --data-dir /var/lib/smartinstall >/dev/null || exit 1
STOPSIGNAL SIGTERM
ENTRYPOINT ["smartinstall"]
CMD ["director", "--data-dir", "/var/lib/smartinstall", "--ssh-port", "22"]
