/**
 * Headless Chromium for the browser tests: Debian's /usr/bin/chromium (installed by `.ci/run`)
 * driven by playwright-core, which downloads no browser of its own. Flags from the machine notes:
 * no sandbox (the tests run as root), no GPU, and no background networking, whose connections the
 * closed network refuses; a fresh profile in a temporary folder for every launch.
 *
 * A missing Chromium is an error, not a skip: the dashboard would otherwise go untested silently.
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { repoRoot } from "../helpers/processes.ts";

/** The Chromium binary; EDGEPROP_CHROMIUM overrides it (a Chromium elsewhere than Debian's path). */
export const CHROMIUM_PATH = process.env.EDGEPROP_CHROMIUM ?? "/usr/bin/chromium";

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export const SCREENSHOTS = join(repoRoot, "tests/browser/__screenshots__");

/** A missing browser: the message says how to install it. */
export class ChromiumMissingError extends Error {
  override name = "ChromiumMissingError";
}

export interface Browser {
  readonly context: BrowserContext;
  /** A new tab whose console errors and uncaught exceptions are collected in `errors`. */
  newPage(): Promise<{ page: Page; errors: string[] }>;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new ChromiumMissingError(
      `The browser tests need Chromium at ${CHROMIUM_PATH} and it is not there. Install Debian's package (as root: apt-get install -y chromium; .ci/run does this), or set EDGEPROP_CHROMIUM to a Chromium binary.`,
    );
  }
  await mkdir(SCREENSHOTS, { recursive: true });
  const profile = await mkdtemp(join(tmpdir(), "edgeprop-chromium-"));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1360, height: 900 },
      acceptDownloads: true,
      timeout: 30_000,
    });
  } catch (error) {
    await rm(profile, { recursive: true, force: true });
    throw error;
  }
  return {
    context,
    async newPage() {
      const page = await context.newPage();
      const errors: string[] = [];
      page.on("console", (message) => {
        if (message.type() === "error") errors.push(`console.error: ${message.text()} (${message.location().url})`);
      });
      page.on("pageerror", (error) => errors.push(`uncaught: ${error.message}`));
      return { page, errors };
    },
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
