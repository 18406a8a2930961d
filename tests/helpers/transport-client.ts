/**
 * Runs HttpTransport in a child process (so that the process starts with the environment under
 * test, e.g. NODE_EXTRA_CA_CERTS): POSTs `count` bodies of `bytes` bytes to `url` and prints one
 * JSON line per reply: `{status, length, sha256}` of the reply's bytes.
 *
 * Usage: node --import tsx tests/helpers/transport-client.ts URL BYTES COUNT
 */
import { createHash } from "node:crypto";
import { HttpTransport } from "../../coordinator/pool/http-transport.ts";

const [url, bytes, count] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const transport = new HttpTransport();
try {
  for (let i = 0; i < count; i++) {
    const body = new Uint8Array(bytes).map((_, j) => (j * 31 + i) & 0xff);
    const reply = await transport.request(url, { method: "POST", headers: { "content-type": "application/octet-stream" }, body, signal: AbortSignal.timeout(10_000) });
    console.log(JSON.stringify({ status: reply.status, length: reply.bytes.length, sha256: createHash("sha256").update(reply.bytes).digest("hex") }));
    reply.release();
  }
} finally {
  transport.close();
}
