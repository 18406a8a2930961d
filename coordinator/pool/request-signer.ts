/**
 * The signature headers of the pool's requests (core/wire/signing.ts): HMAC-SHA256 with the
 * shared secret, and a fresh nonce per send, so that no retry or hedge repeats a signature.
 */
import { createHmac } from "node:crypto";
import { newNonce, type SignatureHeaders, signRequestWith } from "../../core/wire/signing.ts";

/** What one send signs: its method, path and the lower-case hex SHA-256 of its body. */
export interface SignedRequest {
  readonly method: string;
  readonly path: string;
  readonly digest: string;
}

export class RequestSigner {
  /** HMAC-SHA256 with the shared secret, synchronous (node:crypto) so that nothing yields between
   * encoding a shard and handing it to the socket: with Web Crypto every other shard of the step
   * was encoded before the first one left. */
  readonly #hmac: (canonical: string) => string;

  constructor(secret: string) {
    this.#hmac = (canonical) => createHmac("sha256", secret).update(canonical).digest("hex");
  }

  /** The headers that authenticate one send, with a nonce of its own. */
  headers(request: SignedRequest): SignatureHeaders {
    return signRequestWith(this.#hmac, { ...request, nonce: newNonce() });
  }
}
