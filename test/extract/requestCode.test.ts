/** Which files are request paths (DESIGN.md §1: tests, seeding scripts and test utilities are not). */
import { describe, expect, it } from "vitest";
import { isRequestCode } from "../../src/extract/extractFileFacts.js";

describe("isRequestCode", () => {
  it("takes views, models, tasks and services as request code", () => {
    for (const path of ["shop/views.py", "shop/models.py", "shop/tasks.py", "api/v2/views/model_views.py", "shop/services/payments.py"]) {
      expect(isRequestCode(path), path).toBe(true);
    }
  });

  it("leaves out tests, test utilities, factories, migrations, commands, scripts and scheduled jobs", () => {
    for (const path of [
      "shop/tests/test_views.py", "shop/test_views.py", "shop/views_tests.py", "conftest.py", "shop/factories.py",
      "shop/migrations/0002_data.py", "shop/management/commands/seed.py", "scripts/seed_demo.py", "shop/jobs/nightly.py",
      "osf_tests/test_node.py", "shop/testing/fixtures.py", "shop/test_utils/builders.py", "shop/testutils/builders.py",
    ]) {
      expect(isRequestCode(path), path).toBe(false);
    }
  });
});
