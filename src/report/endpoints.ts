/** `stalecheck endpoints`: one row per route with its authentication and Basic Auth reach. */
import type { Endpoint } from "../core/endpoint.js";
import type { ScanResult } from "../core/result.js";
import { escapeControl as esc } from "./escape.js";

interface EndpointRow {
  route: string;
  methods: string[];
  view: string;
  authentication: string[];
  permissions: string[];
  basicAuth: boolean;
  basicAuthReasons: string[];
  findings: number;
}

function rows(result: ScanResult): EndpointRow[] {
  return result.endpoints.map((e: Endpoint) => ({
    route: e.route,
    methods: e.methods,
    view: e.view,
    authentication: e.authentication,
    permissions: e.permissions,
    basicAuth: e.basicAuth,
    basicAuthReasons: e.basicAuthReasons,
    findings: result.findings.filter((f) => f.route === e.route).length,
  }));
}

export function formatEndpointsJson(result: ScanResult): string {
  return `${JSON.stringify({ version: 1, settings: result.settingsFiles, endpoints: rows(result) }, null, 2)}\n`;
}

/** The listing for people; routes, names and paths come from the scanned tree and are escaped. */
export function formatEndpointsText(result: ScanResult): string {
  const list = rows(result);
  if (list.length === 0) return "No routes found (no urlpatterns reachable from ROOT_URLCONF or a top-level urls.py).\n";
  const lines: string[] = [];
  for (const row of list) {
    lines.push(`${esc(row.route)}  [${esc(row.methods.join(", "))}]  ${esc(row.view)}`);
    lines.push(`  authentication: ${row.authentication.length > 0 ? esc(row.authentication.join(", ")) : "(Django session/login; no DRF authentication)"}`);
    lines.push(`  permissions:    ${row.permissions.length > 0 ? esc(row.permissions.join(", ")) : "(none declared)"}`);
    lines.push(`  basic auth:     ${row.basicAuth ? `yes — ${esc(row.basicAuthReasons.join("; "))}` : "no"}`);
    lines.push(`  findings:       ${row.findings}`);
    lines.push("");
  }
  const reachable = list.filter((r) => r.basicAuth).length;
  lines.push(`${list.length} ${list.length === 1 ? "endpoint" : "endpoints"}, ${reachable} reachable with HTTP Basic Auth; settings read: ${result.settingsFiles.length > 0 ? esc(result.settingsFiles.join(", ")) : "none found"} (values combined as a union).`);
  return `${lines.join("\n")}\n`;
}
