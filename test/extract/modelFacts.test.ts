/** What a model class tells about uniqueness: unique fields, sets, and partial constraints. */
import { describe, expect, it } from "vitest";
import { extractFileFacts } from "../../src/extract/extractFileFacts.js";
import { indexModels, managerOverrides, uniqueCovers } from "../../src/project/models.js";
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

describe("unique sets inherited from an abstract base's Meta", async () => {
  const facts = await extractFileFacts("app/models.py", py`
    from django.db import models

    class Base(models.Model):
        a = models.IntegerField()
        b = models.IntegerField()
        code = models.CharField(max_length=9, unique=True)

        class Meta:
            abstract = True
            unique_together = ("a", "b")
            constraints = [models.UniqueConstraint(fields=["a", "code"], name="x")]

    class Plain(Base):
        note = models.TextField()

    class Extends(Base):
        class Meta(Base.Meta):
            ordering = ["a"]

    class Replaces(Base):
        class Meta(Base.Meta):
            unique_together = ("b", "code")

    class Reuses(Base):
        class Meta:
            constraints = Base.Meta.constraints + [models.UniqueConstraint(fields=["b", "code"], name="y")]

    class Own(Base):
        class Meta:
            ordering = ["b"]

    class Concrete(models.Model):
        c = models.IntegerField()

        class Meta:
            unique_together = ("c",)

    class Child(Concrete):
        class Meta:
            ordering = ["c"]
  `);

  it("records which Meta a class declares, what it extends and which options it reuses", () => {
    // A subclass that declares nothing but a Meta is known as a model only in the project stage.
    const byName = new Map([...facts.models, ...facts.classes.flatMap((c) => (c.asModel ? [c.asModel] : []))].map((m) => [m.name, m]));
    expect(byName.get("Base")!.abstract).toBe(true);
    expect(byName.get("Base")!.meta).toEqual({ bases: [], sets: { unique_together: [["a", "b"]], constraints: [["a", "code"]] }, reuses: {} });
    expect(byName.get("Extends")!.meta).toEqual({ bases: ["Base"], sets: {}, reuses: {} });
    expect(byName.get("Reuses")!.meta).toEqual({ bases: [], sets: { constraints: [["b", "code"]] }, reuses: { constraints: ["Base"] } });
    expect(byName.get("Plain")!.meta).toBeUndefined();
  });

  it("inherits them as Django does: without a Meta, through Meta(Base.Meta), or by reusing the option", () => {
    const index = indexModels([facts], undefined, []);
    const covers = (model: string, fields: string[]) => uniqueCovers(index, model, fields);
    expect(covers("Plain", ["a", "b"])).toBe(true);
    expect(covers("Extends", ["a", "b"])).toBe(true);
    expect(covers("Extends", ["a", "code"])).toBe(true);
    // Meta(Base.Meta) setting unique_together again replaces it, but keeps the constraints.
    expect(covers("Replaces", ["a", "b"])).toBe(false);
    expect(covers("Replaces", ["b", "code"])).toBe(true);
    expect(covers("Replaces", ["a", "code"])).toBe(true);
    expect(covers("Reuses", ["a", "code"])).toBe(true);
    expect(covers("Reuses", ["a", "b"])).toBe(false);
    // A Meta of its own drops the base's options; a unique field holds whatever the Meta says.
    expect(covers("Own", ["a", "b"])).toBe(false);
    expect(covers("Own", ["code"])).toBe(true);
    // A concrete parent's table keeps its constraint, whatever the child's Meta.
    expect(covers("Child", ["c"])).toBe(true);
  });
});

describe("uniqueness decided by code", () => {
  it("reads a singleton's fixed key and a manager's own get_or_create()", async () => {
    const facts = await extractFileFacts("app/models.py", py`
      from django.db import models

      class Singleton(models.Model):
          class Meta:
              abstract = True

          def save(self, *args, **kwargs):
              self.pk = SINGLETON_ID
              super().save(*args, **kwargs)

      class Config(Singleton):
          title = models.CharField(max_length=9)

      class Counter(models.Model):
          n = models.IntegerField()

          def save(self, *args, **kwargs):
              if not self.pk:
                  self.pk = 1
              super().save(*args, **kwargs)

      class HashManager(models.Manager):
          def get_or_create(self, **kwargs):
              return super().get_or_create(**kwargs)

      class Blob(models.Model):
          data = models.JSONField()
          objects = HashManager()
    `);
    expect(facts.models.find((m) => m.name === "Singleton")!.fixedPk).toBe(true);
    expect(facts.models.find((m) => m.name === "Counter")!.fixedPk).toBeUndefined();
    const index = indexModels([facts], undefined, []);
    expect(uniqueCovers(index, "Config", [])).toBe(true);
    expect(uniqueCovers(index, "Counter", ["n"])).toBe(false);
    expect(managerOverrides(index, "Blob", "get_or_create")).toBe(true);
    expect(managerOverrides(index, "Blob", "update_or_create")).toBe(false);
    expect(managerOverrides(index, "Counter", "get_or_create")).toBe(false);
  });
});
