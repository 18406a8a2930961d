/** The edgeprop version a worker reports in `GET /v1/health` (kept equal to package.json by a test). */
export const VERSION = "0.1.0";
