/** Throw-away project directories for tests that scan real files. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

const made: string[] = [];

/** Writes `files` (path → content) under a new temporary directory and returns it. */
export function tempProject(files: Record<string, string>, prefix = "stalecheck-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  writeFiles(dir, files);
  return dir;
}

export function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
}

/** Removes every directory `tempProject` made (call from afterAll). */
export function removeTempProjects(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export const MODELS = `from django.conf import settings
from django.db import models


class Voucher(models.Model):
    code = models.CharField(max_length=32)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    used = models.BooleanField(default=False)
`;

/**
 * A view with one STC102 finding (line 10 of the file when `prefix` is empty): two requests
 * both find the voucher unused and both record a redemption.
 */
export function redeemView(name = "redeem", prefix = ""): string {
  return `${prefix}from django.http import JsonResponse
from .models import Redemption, Voucher


def ${name}(request, code):
    voucher = Voucher.objects.get(code=code)
    if voucher.used:
        return JsonResponse({"error": "already used"}, status=409)
    voucher.used = True
    voucher.save()
    Redemption.objects.create(voucher=voucher, user=request.user)
    return JsonResponse({"ok": True})
`;
}
