#!/usr/bin/env node
/* global fetch, AbortSignal */
// Waits until partyhouse answers GET /__partyhouse/ready with 200 (a start-up health check for
// systemd's ExecStartPost and container HEALTHCHECKs). Exit 0 when ready, 1 after the timeout.
// Reads PORT (default 1999), PARTYHOUSE_READY_URL (overrides the URL) and
// PARTYHOUSE_READY_TIMEOUT_MS (default 30000; 0 means a single try).
const port = process.env.PORT || "1999";
const url = process.env.PARTYHOUSE_READY_URL || `http://127.0.0.1:${port}/__partyhouse/ready`;
const timeout = Number(process.env.PARTYHOUSE_READY_TIMEOUT_MS ?? 30000);
const deadline = Date.now() + timeout;
for (;;) {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
    if (res.status === 200) process.exit(0);
  } catch {
    // Not listening yet.
  }
  if (Date.now() >= deadline) {
    console.error(`partyhouse is not ready at ${url}`);
    process.exit(1);
  }
  await new Promise((r) => setTimeout(r, 250));
}
