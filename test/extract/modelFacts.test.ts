/** What a model class tells about uniqueness: unique fields, sets, and partial constraints. */
import { describe, expect, it } from "vitest";
import { extractFileFacts } from "../../src/extract/extractFileFacts.js";
import { py } from "../helpers/functionFacts.js";

describe("unique constraints", () => {
  it("counts a partial UniqueConstraint only with its condition's fields, and one for NULLs as covering them", async () => {
    const facts = await extractFileFacts("app/models.py", py`
      from django.db import models
      from django.db.models import Q

      class Visit(models.Model):
          site = models.CharField(max_length=50)
          section = models.ForeignKey("Section", null=True, on_delete=models.CASCADE)
          day = models.DateField()
          live = models.BooleanField()

          class Meta:
              unique_together = ("site", "section", "day")
              constraints = [
                  models.UniqueConstraint(fields=["site", "day"], condition=Q(section=None), name="a"),
                  models.UniqueConstraint(fields=["site"], condition=Q(live=True), name="b"),
                  models.UniqueConstraint(fields=["day", "section"], nulls_distinct=False, name="c"),
              ]
    `);
    const [visit] = facts.models;
    expect(visit!.uniqueSets).toEqual([["pk"], ["id"], ["site", "section", "day"], ["site", "live"], ["day", "section"]]);
    expect(visit!.nullableFields).toEqual(["section"]);
    expect(visit!.nullSafe).toEqual([{ fields: ["site", "day"], field: "section" }, { fields: ["day", "section"], field: null }]);
  });
});
