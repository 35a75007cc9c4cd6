// LocalPlacement (one process owns every room) against the shared placement suite.
import { LocalPlacement } from "../../src/core/placement.js";
import { placementSuite } from "./suite.js";

placementSuite({
  name: "LocalPlacement",
  fences: false,
  open: () =>
    Promise.resolve({
      placement: new LocalPlacement(),
      storage: { kind: "memory" },
      close: () => Promise.resolve(),
    }),
});
