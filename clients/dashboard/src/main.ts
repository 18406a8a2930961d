/**
 * The dashboard's entry: reads the coordinator's settings from the page, then renders the page
 * named by the URL's hash (`#/`, `#/jobs/:id`, `#/studies/:id`, `#/compare/:id,:id,…`). Hash
 * routes keep the coordinator serving one HTML file; leaving a page aborts its signal, which
 * closes its event stream and timers.
 */
import { Api } from "./api.ts";
import { compareView } from "./compare-view.ts";
import { find, h, replaceChildren } from "./dom.ts";
import { jobView } from "./job-view.ts";
import { jobsView } from "./jobs-view.ts";
import { studyView } from "./study-view.ts";

const authRequired = document.querySelector<HTMLMetaElement>('meta[name="edgeprop-auth-required"]')?.content === "true";
const api = new Api({ authRequired });
const root = find(document, "#app");
let current: AbortController | null = null;

function route(): void {
  current?.abort();
  current = new AbortController();
  const ctx = { api, root, signal: current.signal };
  delete root.dataset.status;
  const hash = location.hash.replace(/^#/, "") || "/";
  const job = /^\/jobs\/([^/]+)$/.exec(hash);
  const study = /^\/studies\/([^/]+)$/.exec(hash);
  const compare = /^\/compare(?:\/([^/]*))?$/.exec(hash);
  root.dataset.page = job ? "job" : study ? "study" : compare ? "compare" : "jobs";
  if (job) jobView(ctx, decodeURIComponent(job[1]));
  else if (compare) compareView(ctx, (compare[1] ?? "").split(",").filter(Boolean).map(decodeURIComponent));
  else if (study) studyView(ctx, decodeURIComponent(study[1]));
  else if (hash === "/") jobsView(ctx);
  else replaceChildren(root, h("h1", {}, "Not found"), h("p", {}, h("a", { href: "#/" }, "Back to the jobs")));
  window.scrollTo(0, 0);
}

window.addEventListener("hashchange", route);
route();
