/**
 * Serves the dashboard (clients/dashboard/) from files in the repository: `index.html` at `/` and
 * the bundle that `npm install` builds (clients/dashboard/build.mjs → dist/) under `/dashboard/`.
 * No CDN and no network: everything the page loads comes from this coordinator.
 *
 * Reads with `node:fs/promises`, which Deno and Node both provide, so the coordinator's entry files
 * stay the only runtime-specific code.
 */
import { readFile } from "node:fs/promises";
import { extname, join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";

export interface DashboardOptions {
  /**
   * When true the page asks for the API token before its first request. Telling the page up front
   * saves it a 401 round trip (which browsers also log as a console error).
   */
  readonly authRequired: boolean;
  /** The dashboard folder (default: clients/dashboard/ of this repository). */
  readonly root?: string;
}

export interface Dashboard {
  /** The page, for `GET /`. */
  index(): Promise<Response>;
  /** A built asset, for `GET /dashboard/<path>`; a 404 response for anything else. */
  asset(path: string): Promise<Response>;
}

/** Content types of the files the build writes; anything else is not served. */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
};

/**
 * Everything comes from this origin; uPlot sets element styles from script (allowed by CSP), and
 * the only inline style is the favicon-less `data:` icon.
 */
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy":
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  // The page and its bundle change with the checkout; always revalidate.
  "cache-control": "no-cache",
};

// Only from files on disk: the coordinator run from JSR (an https: module URL) has no dashboard files
// (the JSR package @edgeprop/edgeprop ships the coordinator's modules only), so it answers 503.
const DEFAULT_ROOT = import.meta.url.startsWith("file:") ? fileURLToPath(new URL("../clients/dashboard/", import.meta.url)) : undefined;

/** The dashboard of a coordinator; files are read on each request (they are small and cached by the browser). */
export function createDashboard(options: DashboardOptions): Dashboard {
  const root = options.root ?? DEFAULT_ROOT;
  const dist = root === undefined ? "" : join(root, "dist");
  const notBuilt = () =>
    new Response(
      root === undefined
        ? "This coordinator has no dashboard: it runs from a module URL that is not a file (the JSR package ships no dashboard); run it from the repository or the npm package edgeprop for one.\n"
        : "The dashboard is not built: run `npm install` (or `npm run build`) in the repository; it bundles clients/dashboard/ into clients/dashboard/dist/.\n",
      { status: 503, headers: { "content-type": "text/plain; charset=utf-8", ...SECURITY_HEADERS } },
    );
  const notFound = (path: string) =>
    new Response(JSON.stringify({ error: { code: "not_found", message: `dashboard asset '${path}' does not exist` } }), {
      status: 404,
      headers: { "content-type": "application/json", ...SECURITY_HEADERS },
    });

  return {
    async index() {
      if (root === undefined) return notBuilt();
      let html: string;
      try {
        html = await readFile(join(root, "index.html"), "utf8");
        await readFile(join(dist, "app.js")); // the page is useless without its bundle
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return notBuilt();
        throw error;
      }
      html = html.replace("<!--edgeprop:config-->", `<meta name="edgeprop-auth-required" content="${options.authRequired}">`);
      return new Response(html, { headers: { "content-type": "text/html; charset=utf-8", ...SECURITY_HEADERS } });
    },

    async asset(path: string) {
      const type = CONTENT_TYPES[extname(path)];
      if (root === undefined) return notFound(path);
      // Plain relative names only: no "..", no absolute paths, no dot files.
      if (!type || !/^[A-Za-z0-9_-][A-Za-z0-9_.-]*(\/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*$/.test(path) || path.split("/").includes("..")) {
        return notFound(path);
      }
      const file = normalize(join(dist, path));
      if (!file.startsWith(dist + sep)) return notFound(path);
      let bytes: Uint8Array;
      try {
        bytes = await readFile(file);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return notFound(path);
        throw error;
      }
      return new Response(bytes as Uint8Array<ArrayBuffer>, { headers: { "content-type": type, ...SECURITY_HEADERS } });
    },
  };
}
