import { it } from "vitest";
import { sweep } from "./simulator-seeds.js";

it("keeps safety and liveness over 60 faulty seeds: 4 validators, 1 Byzantine, 1 crashing", () => {
  sweep(10_001, 60, { validators: 4, byzantine: 1, crash: 1 });
}, 600_000);

it("keeps safety and liveness over 30 faulty seeds: 10 validators, 3 Byzantine, 2 crashing", () => {
  sweep(20_001, 30, { validators: 10, byzantine: 3, crash: 2 });
}, 600_000);
