/** Messages and remediations follow the code a finding is about, not words that happen to be in it. */
import { describe, expect, it } from "vitest";
import { scanSources } from "./helpers/fixtures.js";
import { py } from "./helpers/functionFacts.js";

describe("STC108 remediation", () => {
  const create = (guard: string) => py`
    from django.http import JsonResponse
    from .models import Account

    def sign_up(request):
        email = request.POST["email"]
        if ${guard}:
            return JsonResponse({"error": "taken"}, status=409)
        Account.objects.create(email=email)
        return JsonResponse({"ok": True})
  `;
  const remediation = async (guard: string) => {
    const findings = await scanSources({ "accounts/views.py": create(guard) });
    expect(findings.map((f) => f.rule)).toEqual(["STC108"]);
    return findings[0]!.remediation;
  };

  it("proposes a unique constraint for an exists() guard, whatever the model is called (Account contains 'count')", async () => {
    expect(await remediation("Account.objects.filter(email=email).exists()")).toMatch(/^Add `models\.UniqueConstraint\(fields=\["email"\]/);
  });

  it("proposes locking the owning row for a count() quota", async () => {
    expect(await remediation("Account.objects.filter(email=email).count() >= 3")).toMatch(/^Lock the owning row/);
  });
});
