// vitest: the unit tests under test/ (node by default; DOM tests pick their environment).
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "test/**/*.test.tsx"],
    environment: "node",
    restoreMocks: true,
  },
});
