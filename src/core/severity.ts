/** How bad a finding is, and how sure stalecheck is of it. */
export type Severity = "low" | "medium" | "high" | "critical";
export type Confidence = "low" | "medium" | "high";

/** Least to most severe: thresholds compare indexes in this list. */
export const SEVERITIES: readonly Severity[] = ["low", "medium", "high", "critical"];
