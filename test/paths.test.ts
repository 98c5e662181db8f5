/**
 * One rule for paths in every report: relative to the working directory (absolute outside it),
 * so that a terminal, an editor or a CI system opens them from where stalecheck ran; the JSON
 * report keeps `file` relative to its `root`, which it names.
 */
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { MODELS, redeemView, removeTempProjects, tempProject } from "./helpers/tempProject.js";
import { runCli } from "./helpers/runCli.js";

afterAll(removeTempProjects);

const workspace = () => tempProject({ "services/shop/app/models.py": MODELS, "services/shop/app/views.py": redeemView() });

describe("paths in reports", () => {
  it("text shows paths from the working directory, not from the scanned directory", async () => {
    const dir = workspace();
    const run = await runCli(["services/shop"], dir);
    expect(run.stdout).toContain("services/shop/app/views.py:10:5 STC102");
    const inside = await runCli(["app"], join(dir, "services", "shop"));
    expect(inside.stdout).toContain("app/views.py:10:5 STC102");
  });

  it("every format shows the same path for the same finding", async () => {
    const dir = workspace();
    const json = JSON.parse((await runCli(["services/shop", "--format", "json"], dir)).stdout);
    expect(json.root).toBe("services/shop");
    expect(json.findings[0].file).toBe("app/views.py");
    expect(`${json.root}/${json.findings[0].file}`).toBe("services/shop/app/views.py");
    const sarif = JSON.parse((await runCli(["services/shop", "--format", "sarif"], dir)).stdout);
    expect(sarif.runs[0].results[0].locations[0].physicalLocation.artifactLocation.uri).toBe("services/shop/app/views.py");
    const github = (await runCli(["services/shop", "--format", "github"], dir)).stdout;
    expect(github).toContain("file=services/shop/app/views.py,");
    expect((await runCli([".", "--format", "json"], join(dir, "services", "shop"))).stdout).toContain('"root": "."');
  });

  it("a scan of a directory outside the working directory shows absolute paths", async () => {
    const dir = workspace();
    const elsewhere = tempProject({});
    const run = await runCli([join(dir, "services", "shop")], elsewhere);
    expect(run.stdout).toContain(`${join(dir, "services", "shop", "app", "views.py")}:10:5 STC102`);
    expect(JSON.parse((await runCli([join(dir, "services", "shop"), "--format", "json"], elsewhere)).stdout).root).toBe(join(dir, "services", "shop"));
  });
});
