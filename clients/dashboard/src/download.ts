/**
 * Saves bytes the page fetched (with the API token, which a plain link could not send) as a file
 * the browser downloads.
 */
import { h } from "./dom.ts";

export function saveFile(content: Uint8Array | string, filename: string, type: string): void {
  const url = URL.createObjectURL(new Blob([content as Uint8Array<ArrayBuffer> | string], { type }));
  const link = h("a", { href: url, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  // The download has started from the URL by now; a minute is room for a slow disk.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
