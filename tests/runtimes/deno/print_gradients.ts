// Prints the fixture problem's gradients as JSON, computed under Deno (tests/runtimes/tfjs-loading.test.ts).
import { fixtureGradients } from "../fixture-problem.ts";

console.log(JSON.stringify(await fixtureGradients()));
