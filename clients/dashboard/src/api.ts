/**
 * The page's access to the coordinator: the SDK's client with the API token, asked for once.
 *
 * The token lives in sessionStorage (gone when the tab closes, never sent anywhere but this
 * origin's API as `Authorization: Bearer`). The coordinator tells the page in a meta tag whether a
 * token is required, so the page asks before its first request instead of after a 401; a 401 later
 * (a wrong or rotated token) forgets the token and asks again. Event streams go through the SDK's
 * fetch-based `watch`, which sends the header too (EventSource cannot).
 */
import { EdgepropClient, EdgepropError } from "../../sdk/mod.ts";
import { find, h } from "./dom.ts";

const TOKEN_KEY = "edgeprop.apiToken";

export class Api {
  readonly #authRequired: boolean;
  #token: string | null;
  #asking: Promise<void> | null = null;

  constructor(options: { authRequired: boolean }) {
    this.#authRequired = options.authRequired;
    this.#token = sessionStorage.getItem(TOKEN_KEY);
  }

  /** A client with the current token, once there is one (asks the user when needed). */
  async ready(): Promise<EdgepropClient> {
    while (this.#authRequired && !this.#token) await this.#ask(null);
    return this.#client();
  }

  /**
   * Runs `fn` with a client; on a 401 forgets the token it used, asks for a new one and runs `fn`
   * again. Other errors propagate.
   */
  async call<T>(fn: (client: EdgepropClient) => Promise<T>): Promise<T> {
    for (;;) {
      const client = await this.ready();
      const used = this.#token;
      try {
        return await fn(client);
      } catch (error) {
        if (!(error instanceof EdgepropError) || error.status !== 401) throw error;
        await this.unauthorized(used);
      }
    }
  }

  /** After a 401 with `used`: forget it (unless a newer token came meanwhile) and ask for another. */
  async unauthorized(used: string | null): Promise<void> {
    if (this.#token !== used) return;
    this.#token = null;
    sessionStorage.removeItem(TOKEN_KEY);
    await this.#ask(used ? "The coordinator rejected that token." : "This coordinator requires an API token.");
  }

  /** The token now in use (to tell `unauthorized` which one failed). */
  get token(): string | null {
    return this.#token;
  }

  /** A JSON call with the token to an endpoint the SDK's typed methods do not cover (studies). */
  json<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
    return this.call((client) => client.requestJson<T>(method, path, body));
  }

  /** GET of a JSON path with the token. */
  getJson<T>(path: string): Promise<T> {
    return this.json<T>("GET", path);
  }

  #client(): EdgepropClient {
    return new EdgepropClient({ baseUrl: location.origin, ...(this.#token ? { token: this.#token } : {}) });
  }

  /** Shows the token form (once for all callers waiting at the same time) and resolves with the token set. */
  #ask(message: string | null): Promise<void> {
    this.#asking ??= new Promise<void>((resolve) => {
      const input = h("input", { id: "token-input", type: "password", autocomplete: "off", required: true, "aria-label": "API token" });
      const form = h(
        "form",
        { class: "token-form" },
        h("h2", {}, "API token"),
        h("p", {}, message ?? "This coordinator requires an API token (EDGEPROP_API_TOKEN). It is kept in this tab's session storage only."),
        input,
        h("button", { type: "submit", id: "token-submit" }, "Use token"),
      );
      const overlay = h("div", { class: "overlay", id: "token-dialog", role: "dialog", "aria-modal": "true" }, form);
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        const token = input.value.trim();
        if (!token) return;
        this.#token = token;
        sessionStorage.setItem(TOKEN_KEY, token);
        overlay.remove();
        this.#asking = null;
        resolve();
      });
      find(document, "body").append(overlay);
      input.focus();
    });
    return this.#asking;
  }
}
