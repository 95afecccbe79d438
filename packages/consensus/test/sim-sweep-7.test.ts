import { it } from "vitest";
import { sweep } from "./simulator-seeds.js";

it("keeps safety and liveness over 120 faulty seeds: 7 validators, 2 Byzantine, 1 crashing", () => {
  sweep(1, 120, { validators: 7, byzantine: 2, crash: 1 });
}, 600_000);
