#!/usr/bin/env node
// The Docker image's HEALTHCHECK: exit 0 when the process in the container answers GET /healthz.
// A web or all-in-one process answers on PORT; a worker-only process (`start --role worker`) serves
// no web port, only WORKER_HTTP_PORT when it is set (docs/scaling.md), so that port is tried next.
// Each probe is bounded (2 s) so the check ends before Docker's own timeout.
/* global AbortSignal */
const ports = [process.env.PORT || '3000', process.env.WORKER_HTTP_PORT].filter(Boolean);
// The listener binds HOST; a wildcard (the default 0.0.0.0, or ::) is reached on loopback.
const host = !process.env.HOST || ['0.0.0.0', '::', '[::]'].includes(process.env.HOST) ? '127.0.0.1' : process.env.HOST;
const origin = (port) => `http://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`;

for (const port of ports) {
  try {
    const response = await fetch(`${origin(port)}/healthz`, { signal: AbortSignal.timeout(2000) });
    if (response.ok) process.exit(0);
  } catch {
    // Not listening there (or too slow): try the next port.
  }
}
process.exit(1);
