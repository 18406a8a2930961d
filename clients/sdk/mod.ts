/** The edgeprop SDK: a typed fetch client of the coordinator for Node, Deno and browsers. */
export { EdgepropClient, EdgepropError, parseEventStream, type ClientOptions, type ExportFormat, type WatchOptions } from "./client.ts";
export type * from "./types.ts";
export { StudiesClient, rankTrials } from "./studies.ts";
export type * from "./studies.ts";
